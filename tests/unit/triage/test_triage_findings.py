"""report_from_entities: clauses, modifier attachment, negation, numbers, screen and uncertainty."""

from __future__ import annotations

from typing import Dict, List, Optional

import pytest

from bot.triage.findings import report_from_entities


def ent(text: str, label: str, value, words: str, *, negated: bool = False, nth: int = 0) -> Dict:
    """An entity dict for the `nth` occurrence of `words` in `text`, as the NLU layer would produce it."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(words, start + 1)
    entity = {"entity": label, "value": value, "start": start, "end": start + len(words), "text": words}
    if negated:
        entity["role"] = "negated"
    return entity


def by_symptom(report, symptom: str, negated: Optional[bool] = None):
    found = [f for f in report.findings if f.symptom == symptom and (negated is None or f.negated == negated)]
    assert len(found) == 1, report.findings
    return found[0]


def test_modifier_attaches_to_every_symptom_in_its_clause() -> None:
    text = "my cheeks are red and swollen and getting worse"
    report = report_from_entities(
        text,
        [
            ent(text, "symptom", "redness", "red"),
            ent(text, "symptom", "swelling", "swollen"),
            ent(text, "trend", "worsening", "getting worse"),
            ent(text, "body_area", "face", "cheeks"),
        ],
    )
    assert by_symptom(report, "redness").trend == ("worsening",)
    assert by_symptom(report, "swelling").trend == ("worsening",)
    assert by_symptom(report, "redness").area == "face"
    assert by_symptom(report, "redness").text == "red"


@pytest.mark.parametrize("joiner", [". ", "! ", "? ", "; ", " but ", " although ", " though ", " however ", " BUT "])
def test_clause_breaks_keep_modifiers_apart(joiner: str) -> None:
    text = f"severe swelling{joiner}the redness is fine"
    report = report_from_entities(
        text,
        [
            ent(text, "severity", "severe", "severe"),
            ent(text, "symptom", "swelling", "swelling"),
            ent(text, "symptom", "redness", "redness"),
        ],
    )
    assert by_symptom(report, "swelling").severity == ("severe",)
    assert by_symptom(report, "redness").severity == ()


def test_negated_modifier_does_not_attach_and_is_remembered() -> None:
    text = "red but it is not spreading"
    report = report_from_entities(
        text,
        [
            ent(text, "symptom", "redness", "red"),
            ent(text, "trend", "spreading", "spreading", negated=True),
        ],
    )
    assert by_symptom(report, "redness").trend == ()
    assert report.negated_modifiers == ("spreading",)
    assert report.screen_hits == ("redness",)  # the screen ignores negation; the engine reconciles


def test_orphan_modifier_goes_to_earlier_clause_with_a_present_symptom() -> None:
    text = "My cheek is red. No pus. It is spreading down my neck"
    report = report_from_entities(
        text,
        [
            ent(text, "symptom", "redness", "red"),
            ent(text, "symptom", "discharge", "pus", negated=True),
            ent(text, "trend", "spreading", "spreading"),
        ],
    )
    assert by_symptom(report, "redness").trend == ("spreading",)
    assert by_symptom(report, "discharge").trend == ()


def test_orphan_modifier_before_any_symptom_goes_to_the_next_clause() -> None:
    text = "Getting worse. The swelling on my forehead"
    report = report_from_entities(
        text,
        [
            ent(text, "trend", "worsening", "Getting worse"),
            ent(text, "symptom", "swelling", "swelling"),
        ],
    )
    assert by_symptom(report, "swelling").trend == ("worsening",)


def test_trend_without_any_symptom_is_the_message_trend() -> None:
    text = "worse than yesterday, honestly, and spreading"
    report = report_from_entities(
        text,
        [
            ent(text, "trend", "worsening", "worse"),
            ent(text, "trend", "spreading", "spreading"),
        ],
    )
    assert report.findings == ()
    assert report.overall_trend == "spreading"  # the most worrying answer wins


def test_negated_symptom_is_kept_as_negated() -> None:
    text = "no pus, no fever, just a bit red"
    report = report_from_entities(
        text,
        [
            ent(text, "symptom", "discharge", "pus", negated=True),
            ent(text, "symptom", "fever", "fever", negated=True),
            ent(text, "severity", "mild", "a bit"),
            ent(text, "symptom", "redness", "red"),
        ],
    )
    assert by_symptom(report, "discharge").negated and by_symptom(report, "fever").negated
    assert not by_symptom(report, "redness").negated
    assert by_symptom(report, "redness").severity == ("mild",)
    assert report.screen_hits == ("discharge", "fever")


def test_numbers_pain_temperature_time_method() -> None:
    text = "had microinjections 2 days ago, pain 6/10 now 8/10, temp 38.4"
    report = report_from_entities(
        text,
        [
            ent(text, "treatment_method", "microinjection", "microinjections"),
            ent(text, "time_expression", "48", "2 days ago"),
            ent(text, "symptom", "pain", "pain"),
            ent(text, "pain_score", "6", "6/10"),
            ent(text, "pain_score", "8", "8/10"),
            ent(text, "temperature", "38.4", "38.4"),
        ],
    )
    assert report.hours_since_treatment == 48.0
    assert report.pain_score == 8  # the worst score said
    assert report.temperature_c == 38.4
    assert report.method == "microinjection"


def test_largest_time_is_time_since_treatment_and_now_hours_is_fallback() -> None:
    text = "treated 3 days ago, swelling since yesterday"
    entities = [
        ent(text, "time_expression", 72.0, "3 days ago"),
        ent(text, "time_expression", "24", "yesterday"),
        ent(text, "symptom", "swelling", "swelling"),
    ]
    assert report_from_entities(text, entities, now_hours=5).hours_since_treatment == 72.0
    assert report_from_entities("swollen", [], now_hours=5).hours_since_treatment == 5
    assert report_from_entities("swollen", []).hours_since_treatment is None


def test_fahrenheit_reading_is_converted_and_junk_numbers_are_ignored() -> None:
    text = "temp 101.3 and pain is a lot"
    report = report_from_entities(
        text,
        [
            ent(text, "temperature", "101.3", "101.3"),
            ent(text, "pain_score", "lots", "a lot"),
            ent(text, "time_expression", "soon", "and"),
        ],
    )
    assert report.temperature_c == pytest.approx(38.5, abs=0.05)
    assert report.pain_score is None and report.hours_since_treatment is None


def test_two_methods_in_one_message_are_combined() -> None:
    text = "microneedling plus injections"
    report = report_from_entities(
        text,
        [
            ent(text, "treatment_method", "microneedling", "microneedling"),
            ent(text, "treatment_method", "microinjection", "injections"),
        ],
    )
    assert report.method == "combined"


@pytest.mark.parametrize(
    "confidence, floor, uncertain",
    [
        (None, 0.6, False),
        (0.59, 0.6, True),
        (0.6, 0.6, False),
        (0.95, 0.6, False),
        (0.7, 0.8, True),
    ],
)
def test_uncertain_from_intent_confidence(confidence, floor, uncertain) -> None:
    report = report_from_entities("hmm", [], intent_confidence=confidence, confidence_floor=floor)
    assert report.uncertain is uncertain


def test_unknown_symptom_value_is_kept_for_the_engine_to_fail_closed() -> None:
    text = "goosebumps everywhere"
    report = report_from_entities(text, [ent(text, "symptom", "goosebumps", "goosebumps")])
    assert by_symptom(report, "goosebumps").symptom == "goosebumps"


def test_entities_in_any_order_and_without_text_field() -> None:
    text = "swollen and severe"
    entities: List[Dict] = [
        {"entity": "severity", "value": "severe", "start": 12, "end": 18},
        {"entity": "symptom", "value": "swelling", "start": 0, "end": 7},
    ]
    report = report_from_entities(text, entities)
    assert by_symptom(report, "swelling").severity == ("severe",)
    assert by_symptom(report, "swelling").text == "swollen"


def test_throbbing_filed_under_pain_is_kept_as_throbbing() -> None:
    text = "throbbing since yesterday, sore too"
    report = report_from_entities(
        text, [ent(text, "symptom", "pain", "throbbing"), ent(text, "symptom", "pain", "sore")]
    )
    assert [f.symptom for f in report.findings] == ["throbbing", "pain"]


# --- context, denied improvement, unnamed worsening, pain trajectories ---------------------------------------------


def test_a_symptom_in_context_is_kept_but_not_current() -> None:
    text = "what if I get a fever"
    fever = ent(text, "symptom", "fever", "fever")
    report = report_from_entities(text, [{**fever, "role": "hypothetical"}])
    assert by_symptom(report, "fever").context == "hypothetical"
    assert not by_symptom(report, "fever").current


def test_a_denied_improvement_means_the_symptom_persists() -> None:
    text = "the redness hasn't improved at all"
    report = report_from_entities(
        text, [ent(text, "symptom", "redness", "redness"), ent(text, "trend", "improving", "improved", negated=True)]
    )
    assert by_symptom(report, "redness").trend == ("not_improving",)


def test_a_worrying_trend_with_every_named_symptom_denied_stands_for_an_unnamed_one() -> None:
    text = "I don't feel feverish but it is spreading"
    report = report_from_entities(
        text, [ent(text, "symptom", "fever", "feverish", negated=True), ent(text, "trend", "spreading", "spreading")]
    )
    unnamed = by_symptom(report, "unspecified")
    assert unnamed.current and unnamed.trend == ("spreading",)


def test_an_improving_trend_with_every_symptom_denied_adds_nothing() -> None:
    text = "no pus and getting better"
    report = report_from_entities(
        text,
        [ent(text, "symptom", "discharge", "pus", negated=True), ent(text, "trend", "improving", "getting better")],
    )
    assert [f.symptom for f in report.findings] == ["discharge"]


@pytest.mark.parametrize(
    "text, score, trend",
    [
        ("the pain was a 2 when I left but now it's a 7", 7, "increasing"),
        ("it hurt at a 6 this morning, now it's a 3", 3, "improving"),
        ("pain is a 5", 5, None),
        ("sore, about a 4 out of 10", 4, None),
        ("my 2 year old kept me up, the pain is fine", None, None),
        ("it's sore at 10 am and fine later", None, None),
    ],
)
def test_pain_scores_in_words_and_their_direction(text, score, trend) -> None:
    pain_word = next(w for w in ("pain", "sore", "hurt") if w in text)
    report = report_from_entities(text, [ent(text, "symptom", "pain", pain_word)])
    assert report.pain_score == score
    pain = by_symptom(report, "pain")
    assert (trend in pain.trend) if trend else not ({"increasing", "improving"} & set(pain.trend))


def test_a_severity_word_right_before_a_symptom_is_that_symptoms_own() -> None:
    text = "my cheeks are still quite red and a bit swollen"
    report = report_from_entities(
        text,
        [
            ent(text, "severity", "moderate", "quite"),
            ent(text, "symptom", "redness", "red"),
            ent(text, "severity", "mild", "a bit"),
            ent(text, "symptom", "swelling", "swollen"),
        ],
    )
    assert by_symptom(report, "redness").severity == ("moderate",)
    assert by_symptom(report, "swelling").severity == ("mild",)
