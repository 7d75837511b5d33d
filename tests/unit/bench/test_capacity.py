"""Cores per 1,000 active patients: the sum `make bench` prints, worked by hand on round numbers."""

import pytest

from devtools.bench import capacity


def test_cores_follow_the_schedule_and_the_cpu_per_message():
    # 2 check-ins within the first week (24 h, 168 h) + 2 of the patient's own = 4 conversations of 3.5 messages in
    # 7 days: 2 messages/patient/day. 2,000 a day per 1,000 patients over 12 h, x2 at the peak: 0.0926 messages/s;
    # at 54 ms each, 0.005 cores busy, 0.00833 cores planned at 60 %.
    plan = capacity.plan(50.0, 4.0, (24, 168, 672), 3.5)
    week = plan["first_week"]
    assert week["messages_per_patient_day"] == 2.0
    assert week["peak_messages_per_s_per_1000"] == pytest.approx(2000 / 43200 * 2, abs=1e-4)
    assert week["cores_per_1000"] == pytest.approx(2000 / 43200 * 2 * 0.054 / 0.6, abs=1e-4)
    # The whole programme: 5 conversations of 3.5 messages in 28 days.
    assert plan["programme"]["messages_per_patient_day"] == pytest.approx(5 * 3.5 / 28, abs=0.01)
    assert plan["programme"]["cores_per_1000"] < week["cores_per_1000"]


def test_twice_the_cpu_needs_twice_the_cores():
    one = capacity.plan(40.0, None, (24, 72, 168), 3.0)["first_week"]["cores_per_1000"]
    two = capacity.plan(80.0, None, (24, 72, 168), 3.0)["first_week"]["cores_per_1000"]
    assert two == pytest.approx(2 * one, rel=1e-3)


def test_without_a_cpu_figure_there_is_no_plan_and_the_table_says_so():
    assert capacity.plan(None, 5.0, (24,), 3.0) is None
    assert "no CPU figure" in capacity.lines(None)[0]


def test_the_table_names_what_the_figure_rests_on():
    text = "\n".join(capacity.lines(capacity.plan(50.0, None, (24, 72), 3.0)))
    assert "Telegram gateway not measured" in text and "24, 72 h" in text and "per 1,000 patients" in text
