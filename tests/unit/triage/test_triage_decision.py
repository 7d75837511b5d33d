"""Shape of the Decision: ordering, advice, `missing`, and the fail-closed catch-all with a custom policy."""

from __future__ import annotations

import yaml

from bot.triage.criteria import load_criteria, parse_criteria
from bot.triage.engine import triage
from bot.triage.model import Finding, Level, PatientContext, Report

CRITERIA = load_criteria()


def decide(*findings: Finding, hours=None, **report) -> object:
    return triage(Report(findings=findings, **report), PatientContext(hours_since_treatment=hours), CRITERIA)


def test_criteria_most_severe_first_and_advice_only_from_the_deciding_level() -> None:
    d = decide(Finding("redness"), Finding("discharge"), Finding("fever"), Finding("breathing_difficulty"), hours=5)
    assert d.level is Level.EMERGENCY
    levels = [CRITERIA.by_id(c).level.rank for c in d.criteria]
    assert levels == sorted(levels, reverse=True)
    assert d.criteria[0] == "emergency_breathing_difficulty"
    assert "redness_expected" in d.criteria  # still listed for the practitioner
    assert d.advice == ("call_emergency",)


def test_advice_is_deduplicated_in_order() -> None:
    d = decide(Finding("discharge"), Finding("fever"), Finding("redness", trend=("spreading",)), hours=40)
    assert d.advice == ("practitioner_alerted", "infection_meanwhile")


def test_normal_advice_lists_what_to_expect_then_aftercare() -> None:
    d = decide(Finding("redness"), Finding("peeling"), hours=20)
    assert d.advice == ("expected_redness_swelling", "expected_tightness_peeling", "aftercare_basics")


def test_findings_in_decision_exclude_denials() -> None:
    d = decide(Finding("redness"), Finding("discharge", negated=True), hours=5)
    assert [f.symptom for f in d.findings] == ["redness"]


def test_missing_pain_score_only_when_it_could_change_the_level() -> None:
    assert "pain_score" in decide(Finding("pain"), hours=10).missing
    assert "pain_score" not in decide(Finding("pain"), hours=10, pain_score=2).missing
    # already urgent for another reason and no score can make it an emergency
    assert "pain_score" not in decide(Finding("pain"), Finding("discharge"), hours=10).missing


def test_missing_trend_only_when_worse_would_escalate() -> None:
    assert "trend" in decide(Finding("redness"), hours=10).missing
    assert "trend" not in decide(Finding("redness", trend=("improving",)), hours=10).missing
    assert "trend" not in decide(Finding("discharge"), hours=10).missing
    assert "trend" not in decide(Finding("redness"), hours=10, overall_trend="persisting").missing


def test_missing_hours_only_when_unknown_and_it_matters() -> None:
    assert "hours_since_treatment" in decide(Finding("swelling")).missing
    assert "hours_since_treatment" not in decide(Finding("swelling"), hours=10).missing
    assert "hours_since_treatment" not in decide(Finding("swelling"), hours_since_treatment=10).missing
    assert "hours_since_treatment" not in decide(Finding("discharge")).missing  # urgent at any time
    assert "hours_since_treatment" not in decide(Finding("acne")).missing  # time does not change it


def test_nothing_to_ask_without_findings_or_in_an_emergency() -> None:
    assert decide().missing == ()
    assert decide(Finding("swelling"), Finding("airway_swelling")).missing == ()


def test_catch_all_escalates_a_symptom_the_policy_forgot() -> None:
    policy = parse_criteria(
        yaml.safe_load("""
criteria:
  - {id: redness_ok, level: normal, findings: [redness], guide: "fade", advice: [aftercare_basics]}
  - {id: not_covered, level: urgent, findings: any, conditions: {not_covered: true},
     guide: "contact the treating practitioner", advice: [practitioner_alerted]}
""")
    )
    redness = triage(Report(findings=(Finding("redness"),)), PatientContext(), policy)
    assert (redness.level, redness.criteria) == (Level.NORMAL, ("redness_ok",))
    both = triage(Report(findings=(Finding("redness"), Finding("swelling"))), PatientContext(), policy)
    assert (both.level, both.criteria) == (Level.URGENT, ("not_covered", "redness_ok"))


def test_every_vocabulary_symptom_gets_a_level_at_every_time() -> None:
    from bot.nlp.vocabulary import SYMPTOMS

    for symptom in sorted(SYMPTOMS):
        for hours in (None, 0, 5, 23, 24, 47, 48, 71, 72, 200, 400):
            d = decide(Finding(symptom), hours=hours)
            assert d.level.rank >= Level.NORMAL.rank, (symptom, hours)
            assert "symptom_not_covered" not in d.criteria, (symptom, hours)


def test_triage_is_deterministic_and_does_not_mutate_inputs() -> None:
    report = Report(findings=(Finding("pain", trend=("worsening",)),), pain_score=None)
    context = PatientContext()
    assert triage(report, context, CRITERIA) == triage(report, context, CRITERIA)
    assert report.pain_score is None and report.hours_since_treatment is None


def test_throbbing_is_never_triaged_below_pain() -> None:
    # findings.py files a pain entity worded "throbbing" as throbbing; that must never lower a level.
    for hours in (None, 0, 5, 23, 24, 47, 48, 71, 72, 200):
        for severity in ((), ("mild",), ("moderate",), ("severe",)):
            for trend in ((), ("improving",), ("worsening",)):
                for score in (None, 2, 5, 8):
                    pain = decide(Finding("pain", severity=severity, trend=trend), hours=hours, pain_score=score)
                    throb = decide(Finding("throbbing", severity=severity, trend=trend), hours=hours, pain_score=score)
                    assert throb.level.rank >= pain.level.rank, (hours, severity, trend, score)


def test_missing_temperature_after_warmth_when_a_reading_could_escalate() -> None:
    assert "temperature" in decide(Finding("warmth"), hours=30).missing
    assert "temperature" not in decide(Finding("warmth"), hours=30, temperature_c=37.0).missing
    # a fever is urgent whatever the number; a reading of 39.5 °C or more would make it an emergency
    assert "temperature" in decide(Finding("fever"), hours=30).missing
    assert "temperature" not in decide(Finding("redness"), hours=30).missing  # nothing suggests a fever
