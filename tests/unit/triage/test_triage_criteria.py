"""The criteria file: loading, every validation error, guide citations, and agreement with the advice responses."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from bot.triage import advice
from bot.triage.conversation import DETAILS
from bot.triage.criteria import DEFAULT_PATH, NOT_IN_GUIDE, CriteriaError, load_criteria
from bot.triage.model import Level

ROOT = Path(__file__).resolve().parents[3]
RESPONSES = ROOT / "data" / "triage" / "advice_responses.yml"
GUIDE = Path("/work/shared/seed/aftercare-guide.txt")

GOOD = """
- id: pus
  level: urgent
  findings: [discharge]
  guide: "pus, or unusual discharge"
  advice: [practitioner_alerted]
"""


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "criteria.yml"
    path.write_text("criteria:\n" + textwrap.indent(textwrap.dedent(body), "  "), encoding="utf-8")
    return path


def test_real_file_loads() -> None:
    criteria = load_criteria()
    assert len(criteria) >= 40
    levels = {c.level for c in criteria}
    assert levels == {Level.EMERGENCY, Level.URGENT, Level.MONITOR, Level.NORMAL}


def test_minimal_file_loads(tmp_path: Path) -> None:
    criteria = load_criteria(write(tmp_path, GOOD))
    [only] = criteria.items
    assert (only.id, only.level, only.findings, only.advice) == (
        "pus",
        Level.URGENT,
        ("discharge",),
        ("practitioner_alerted",),
    )


@pytest.mark.parametrize(
    "body, expected",
    [
        pytest.param(
            GOOD.replace("[discharge]", "[pusss]"), r"'pus'.*'findings'.*unknown symptom 'pusss'", id="unknown_symptom"
        ),
        pytest.param(
            GOOD.replace("level: urgent", "level: critical"),
            r"'pus'.*'level'.*unknown level 'critical'",
            id="unknown_level",
        ),
        pytest.param(
            GOOD + "  conditions: {hours_since: 3}\n",
            r"'pus'.*'conditions.hours_since'.*unknown condition",
            id="bad_condition_key",
        ),
        pytest.param(
            GOOD.replace('  guide: "pus, or unusual discharge"\n', ""), r"'pus'.*'guide'.*missing", id="missing_guide"
        ),
        pytest.param(GOOD.replace('"pus, or unusual discharge"', '""'), r"'pus'.*'guide'", id="empty_guide"),
        pytest.param(
            GOOD.replace('"pus, or unusual discharge"', f'"{NOT_IN_GUIDE}"'),
            r"'pus'.*'rationale'.*required",
            id="not_in_guide_without_rationale",
        ),
        pytest.param(GOOD + GOOD, r"'pus'.*duplicate id", id="duplicate_id"),
        pytest.param(GOOD.replace("id: pus", "id: Pus-Check"), r"'id'.*snake_case", id="id_not_snake_case"),
        pytest.param(
            GOOD.replace("[practitioner_alerted]", "[say_something]"),
            r"'pus'.*'advice'.*unknown advice key 'say_something'",
            id="unknown_advice",
        ),
        pytest.param(GOOD.replace("[practitioner_alerted]", "[]"), r"'pus'.*'advice'", id="empty_advice"),
        pytest.param(
            GOOD + "  conditions: {hours_min: 24}\n",
            r"'pus'.*if_time_unknown.*required",
            id="hours_without_unknown_time_policy",
        ),
        pytest.param(
            GOOD + "  conditions: {hours_min: 48, hours_max: 24, if_time_unknown: match}\n",
            r"'pus'.*hours_max.*greater",
            id="hours_min_above_max",
        ),
        pytest.param(
            GOOD + "  conditions: {if_time_unknown: maybe, hours_min: 3}\n",
            r"'pus'.*if_time_unknown",
            id="bad_unknown_time_policy",
        ),
        pytest.param(
            GOOD + "  conditions: {severity: [huge]}\n", r"'pus'.*conditions.severity.*'huge'", id="unknown_severity"
        ),
        pytest.param(
            GOOD + "  conditions: {trend: [worse]}\n", r"'pus'.*conditions.trend.*'worse'", id="unknown_trend"
        ),
        pytest.param(
            GOOD + "  conditions: {method: [laser]}\n", r"'pus'.*conditions.method.*'laser'", id="unknown_method"
        ),
        pytest.param(GOOD + "  conditions: {pain_score_min: 11}\n", r"'pus'.*pain_score_min", id="pain_score_range"),
        pytest.param(
            GOOD + "  conditions: {temperature_min_c: 100}\n",
            r"'pus'.*temperature_min_c",
            id="temperature_in_fahrenheit",
        ),
        pytest.param(
            GOOD + "  conditions: {persists_from_earlier_report: yes please}\n",
            r"'pus'.*persists_from_earlier_report",
            id="flag_not_true",
        ),
        pytest.param(GOOD + "  colour: red\n", r"'pus'.*'colour'.*unknown field", id="unknown_field"),
        pytest.param(
            GOOD.replace("[discharge]", "[]"),
            r"'pus'.*'findings'.*every message",
            id="empty_findings_without_message_condition",
        ),
        pytest.param(GOOD + "  conditions: {not_covered: true}\n", r"'pus'.*not_covered", id="not_covered_needs_any"),
    ],
)
def test_validation_errors_name_criterion_and_field(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(CriteriaError, match=expected):
        load_criteria(write(tmp_path, body))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CriteriaError, match="not found"):
        load_criteria(tmp_path / "nope.yml")


@pytest.mark.parametrize("text", ["", "criteria: []\n", "something_else: 1\n", "- just a list\n"])
def test_no_criteria(tmp_path: Path, text: str) -> None:
    path = tmp_path / "criteria.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CriteriaError, match="no criteria"):
        load_criteria(path)


def test_invalid_yaml(tmp_path: Path) -> None:
    path = tmp_path / "criteria.yml"
    path.write_text("criteria:\n  - id: [unclosed\n", encoding="utf-8")
    with pytest.raises(CriteriaError, match="not valid YAML"):
        load_criteria(path)


# --- the clinic's file -------------------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'").replace("\u201c", '"')
    return re.sub(r"\s+", " ", text.replace("\u201d", '"')).strip().lower()


@pytest.mark.skipif(not GUIDE.is_file(), reason="the clinic's guide is not available on this machine")
def test_every_guide_reference_is_a_real_quote() -> None:
    guide = _normalise(GUIDE.read_text(encoding="utf-8"))
    wrong = [(c.id, c.guide) for c in load_criteria() if c.guide != NOT_IN_GUIDE and _normalise(c.guide) not in guide]
    assert not wrong, f"guide references that are not quotes of the guide: {wrong}"


def test_guide_references_are_short() -> None:
    long_quotes = [c.id for c in load_criteria() if len(c.guide) > 90]
    assert not long_quotes


def test_time_dependent_criteria_state_unknown_time_policy() -> None:
    raw = yaml.safe_load(DEFAULT_PATH.read_text(encoding="utf-8"))["criteria"]
    for item in raw:
        conditions = item.get("conditions") or {}
        if "hours_min" in conditions or "hours_max" in conditions:
            assert conditions.get("if_time_unknown") in ("match", "no_match"), item["id"]


def test_emergencies_are_screened_for_every_emergency_symptom() -> None:
    criteria = load_criteria()
    for symptom in ("breathing_difficulty", "airway_swelling", "fainting", "chest_pain", "vision_change"):
        assert any(
            c.level is Level.EMERGENCY and c.findings == (symptom,) and c.conditions == type(c.conditions)()
            for c in criteria
        ), symptom


# --- advice keys and responses -----------------------------------------------------------------------------------


def _responses() -> dict:
    data = yaml.safe_load(RESPONSES.read_text(encoding="utf-8"))
    assert data["version"] == "3.1"
    return data["responses"]


def test_every_advice_key_used_by_criteria_has_a_response_and_vice_versa() -> None:
    used = {key for c in load_criteria() for key in c.advice}
    responses = {name for name in _responses() if name.startswith("utter_advice_")}
    known = used | set(advice.ADVICE_KEYS)
    missing = {advice.response_name(k) for k in known} - responses
    assert not missing, f"advice keys without a response: {sorted(missing)}"
    unused = responses - {advice.response_name(k) for k in known}
    assert not unused, f"responses for no advice key: {sorted(unused)}"
    # The engine itself says these when no symptom is the patient's own, current one.
    by_engine = {advice.WATCH_FOR, advice.NOTHING_WRONG}
    assert used | by_engine == set(advice.ADVICE_KEYS), "advice.py lists keys no criterion uses (or the reverse)"


def test_every_clarifying_question_has_a_question_and_a_re_ask_in_the_domain() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    for detail in DETAILS:
        assert f"detail_{detail}" in domain["forms"]["triage_details_form"]["required_slots"]
        assert f"utter_ask_detail_{detail}" in domain["responses"]
        assert f"utter_invalid_detail_{detail}" in domain["responses"]


def test_responses_are_rasa_text_responses_short_enough_for_a_phone() -> None:
    for name, variants in _responses().items():
        assert isinstance(variants, list) and variants, name
        for variant in variants:
            assert set(variant) == {"text"}, name
            assert 10 < len(variant["text"]) <= 400, name


# The wording rules (emergency replies start with the call, urgent replies give the phone and the callback
# time, normal advice ends with "message us or call") are in test_advice_responses.py.
