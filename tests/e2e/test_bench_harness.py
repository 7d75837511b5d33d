"""`make bench` on a tiny load (--quick), so the harness cannot rot: every section is there with sane values.
No timing is asserted; the numbers of a quick run on a busy test machine mean nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.rasa, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]


def ordered(summary: dict) -> bool:
    return summary["count"] > 0 and summary["p50_ms"] <= summary["p95_ms"] <= summary["p99_ms"]


def _unreachable() -> str:
    """Why PostgreSQL or Redis cannot be used by the benchmark, or '' when both answer."""
    import socket

    from sqlalchemy import create_engine, text

    from devtools.bench.setup import POSTGRES_URL, REDIS_HOST, REDIS_PORT

    try:
        engine = create_engine(POSTGRES_URL, future=True, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # any driver error: report it as the reason
        return f"PostgreSQL: {str(error).splitlines()[0]}"
    try:
        socket.create_connection((REDIS_HOST, int(REDIS_PORT)), timeout=3).close()
    except OSError as error:
        return f"Redis: {error}"
    return ""


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    reason = _unreachable()
    if reason:
        if os.environ.get("AFTERCARE_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"the benchmark needs PostgreSQL and Redis: {reason}")
        pytest.skip(f"the benchmark needs PostgreSQL and Redis: {reason}")
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run(
        [sys.executable, "-m", "devtools.bench.run", "--quick", "--out", str(out)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    print(done.stdout)
    return json.loads((out / "bench-quick.json").read_text()), done.stdout


def test_latencies_are_measured_and_ordered(result):
    data, _ = result
    ours = data["ours"]
    assert ordered(ours["rest_latency"]) and ours["rest_latency"]["errors"] == 0
    assert ordered(ours["telegram"]["first_message"]) and ordered(ours["telegram"]["whole_reply"])
    assert ordered(ours["telegram"]["rest_same_minutes"])
    assert ours["telegram"]["errors"] == 0
    if data["stock"] is not None:
        assert ordered(data["stock"]["rest_latency"])


def test_every_red_flag_alerted_its_practitioner(result):
    alerts = result[0]["ours"]["telegram"]["alerts"]
    assert alerts["red_flags"] > 0 and alerts["missing"] == 0
    assert ordered(alerts["after_patient_update"])


def test_throughput_runs_without_errors_on_one_and_two_workers(result):
    ours = result[0]["ours"]
    for key in ("throughput_1_worker", "throughput_2_workers"):
        for level in ours[key]:
            assert level["messages"] > 0 and level["errors"] == 0 and level["messages_per_s"] > 0


def test_no_conversation_lost_or_reordered_an_event(result):
    events = result[0]["ours"]["events"]
    assert events["conversations"] > 0 and events["messages"] > 0
    assert (events["lost"], events["extra"], events["reordered"], events["conversations_wrong"]) == (0, 0, 0, 0)


def test_memory_start_up_and_machine_are_reported(result):
    data, printed = result
    assert data["machine"]["cores"] >= 1 and data["machine"]["rasa"].startswith("3.6")
    for name in ("ours: rasa worker 1", "ours: rasa worker 2", "ours: action server", "ours: telegram gateway"):
        assert data["processes"][name]["memory"]["rss_mib"] > 0, name
    assert data["processes"]["ours: rasa worker 1"]["startup_s"] > 0
    assert {v["key"] for v in data["verdicts"]} >= {"ours_stock_rest_p95", "two_workers_one", "events_wrong"}
    assert "Reply latency" in printed and "Throughput" in printed
    if data["stock"] is None:
        assert "stock Rasa SKIPPED" in printed  # said clearly when the stock model is not cached


def test_cores_per_thousand_patients_are_printed_from_the_measured_cpu(result):
    data, printed = result
    plan = data["capacity"]
    one_worker = max(data["ours"]["throughput_1_worker"], key=lambda level: level["messages_per_s"])
    server_ms = sum(ms for name, ms in one_worker["cpu"]["cpu_ms_per_message"].items() if name != "load client")
    assert plan["server_cpu_ms"] == round(server_ms, 1)
    telegram = data["ours"]["telegram"]
    assert plan["gateway_cpu_ms"] == telegram["gateway_cpu_ms_per_message"] >= 0
    assert telegram["gateway_idle_cpu_ms_per_s"] >= 0
    assert plan["first_week"]["cores_per_1000"] > plan["programme"]["cores_per_1000"] > 0
    assert "cores per 1,000 patients" in printed
    keys = {v["key"] for v in data["verdicts"]}
    assert {"cpu_ms_per_message_ours_stock", "rasa_worker_memory_ours_stock"} <= keys
