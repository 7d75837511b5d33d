"""The benchmark's arithmetic: percentiles and the check of each tracker's events against what was sent."""

from devtools.bench.stats import compare_events, cpu_breakdown, latency_summary, percentile, ratio


def test_percentile_is_a_measured_value_by_nearest_rank():
    values = [0.5, 0.1, 0.4, 0.2, 0.3]
    assert percentile(values, 50) == 0.3
    assert percentile(values, 95) == 0.5
    assert percentile(values, 1) == 0.1
    assert percentile([], 50) is None


def test_latency_summary_in_milliseconds_and_ordered():
    summary = latency_summary([i / 1000 for i in range(1, 101)])
    assert summary["count"] == 100
    assert (summary["p50_ms"], summary["p95_ms"], summary["p99_ms"], summary["max_ms"]) == (50.0, 95.0, 99.0, 100.0)


def test_ratio_of_missing_values_is_none():
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(None, 2.0) is None and ratio(3.0, 0) is None


def test_identical_conversations_are_right():
    sent = {"a": ["hi", "sore", "bye"], "b": ["hi"]}
    result = compare_events(sent, {"a": ["hi", "sore", "bye"], "b": ["hi"]})
    assert result["conversations_wrong"] == 0
    assert (result["lost"], result["extra"], result["reordered"]) == (0, 0, 0)
    assert result["messages"] == 4


def test_lost_duplicated_and_reordered_events_are_counted():
    sent = {"lost": ["hi", "sore", "bye"], "dup": ["hi", "sore"], "swap": ["hi", "sore", "bye"]}
    recorded = {"lost": ["hi", "bye"], "dup": ["hi", "sore", "sore"], "swap": ["sore", "hi", "bye"]}
    result = compare_events(sent, recorded)
    assert result["conversations_wrong"] == 3
    assert result["lost"] == 1 and result["extra"] == 1 and result["reordered"] == 1


def test_a_conversation_missing_from_the_store_loses_everything():
    result = compare_events({"gone": ["hi", "bye"]}, {})
    assert result["lost"] == 2


def test_cpu_breakdown_splits_the_machine_between_measured_processes_and_the_rest():
    before = {"machine": {"busy": 10.0, "total": 100.0}, "processes": {"rasa": 1.0, "actions": 0.5}}
    after = {"machine": {"busy": 18.0, "total": 120.0}, "processes": {"rasa": 5.0, "actions": 1.5}}
    cpu = cpu_breakdown(before, after, messages=10)
    assert cpu["machine_busy_pct"] == 40.0 and cpu["measured_processes_pct"] == 25.0
    assert cpu["rest_of_machine_pct"] == 15.0
    assert cpu["cpu_ms_per_message"] == {"rasa": 400.0, "actions": 100.0}
