"""Answers to clarifying questions: how each is read, and how answers and later messages join the pending report."""

from __future__ import annotations

import pytest

from bot.triage.conversation import SKIPPED, merge, parse_detail, with_answers, without_detail
from bot.triage.model import Finding, Report


@pytest.mark.parametrize(
    "detail, answer, value",
    [
        ("pain_score", "about a 6", 6),
        ("pain_score", "7/10", 7),
        ("pain_score", "zero", 0),
        ("pain_score", 4, 4),
        ("pain_score", "eleven", None),
        ("pain_score", "-3", None),
        ("pain_score", "minus 2", None),
        ("pain_score", "lots", None),
        ("pain_score", 12, None),
        ("pain_score", "no idea", SKIPPED),
        ("temperature", "38.4", 38.4),
        ("temperature", "101F", 38.3),
        ("temperature", "100.4 fahrenheit", 38.0),
        ("temperature", "50 °C", None),
        ("temperature", "hot", None),
        ("temperature", "I didn't measure", SKIPPED),
        ("temperature", "don't have a thermometer", SKIPPED),
        ("temperature", 37.9, 37.9),
        ("temperature", "no", SKIPPED),
        ("temperature", "nope, haven't", SKIPPED),
        ("temperature", "yes", None),
        ("pain_score", "no", None),
        ("hours_since_treatment", "2 days ago", 48.0),
        ("hours_since_treatment", "yesterday", 24.0),
        ("hours_since_treatment", "3", 72.0),
        ("hours_since_treatment", "ages ago", None),
        ("hours_since_treatment", "-2", None),
        ("hours_since_treatment", "can't remember", SKIPPED),
        ("trend", "worse", "worsening"),
        ("trend", "it was better this morning but worse again now", "worsening"),
        ("trend", "much better", "improving"),
        ("trend", "no change", "persisting"),
        ("trend", "not worse", "persisting"),
        ("trend", "not better", "not_improving"),
        ("trend", "improving", "improving"),
        ("trend", "purple", None),
        ("trend", SKIPPED, SKIPPED),
        ("trend", None, None),
    ],
)
def test_parse_detail(detail, answer, value):
    assert parse_detail(detail, answer) == value


def test_unknown_detail_is_a_programming_error():
    with pytest.raises(ValueError):
        parse_detail("shoe_size", "42")


def test_answers_fill_what_the_messages_left_unknown_and_skips_stay_unknown():
    report = Report(findings=(Finding("pain"),), pain_score=5)
    completed = with_answers(
        report, {"pain_score": 8, "trend": "worsening", "temperature": SKIPPED, "hours_since_treatment": 30.0}
    )
    assert completed.pain_score == 5  # the patient's own words win
    assert completed.overall_trend == "worsening" and completed.hours_since_treatment == 30.0
    assert completed.temperature_c is None


def test_without_detail_forgets_one_value():
    report = Report(pain_score=7, overall_trend="worsening", temperature_c=38.5)
    assert without_detail(report, "pain_score") == Report(overall_trend="worsening", temperature_c=38.5)
    assert without_detail(report, "temperature").temperature_c is None


def test_an_unclear_message_adding_nothing_does_not_make_the_report_uncertain():
    pending = Report(findings=(Finding("pain"),))
    assert not merge(pending, Report(uncertain=True)).uncertain
    assert merge(pending, Report(findings=(Finding("discharge"),), uncertain=True)).uncertain
    assert merge(pending, Report(screen_hits=("discharge",), uncertain=True)).uncertain
    assert merge(Report(findings=(Finding("pain"),), uncertain=True), Report()).uncertain
