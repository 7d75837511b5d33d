"""The wording rules of data/triage/advice_responses.yml (issue 11: replies that tell the patient what to do next).

- An emergency reply starts with the call to the emergency number, before anything else is said.
- A reply that tells the patient their practitioner was alerted gives the clinic's phone, what to do if nobody has
  called back within PATIENT_CALLBACK_MINUTES, and what to do outside CLINIC_HOURS; so does every urgent advice set.
- Normal advice ends with "Message us or call {clinic_phone} if <the guide's warning signs>."
- Every placeholder is one the settings fill, and none is left in a rendered reply.
"""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Dict, List

import pytest
import yaml

from bot.responses import CLINIC_PLACEHOLDERS, clinic_slots, load_responses, render
from bot.settings import Settings
from bot.triage.advice import response_name
from bot.triage.criteria import load_criteria
from bot.triage.model import Level

ROOT = Path(__file__).resolve().parents[3]
RESPONSES = ROOT / "data" / "triage" / "advice_responses.yml"

# An optional leading emoji (or other symbols), an optional short "If <condition>, " and then the call itself.
# "Please call emergency services now (999)" and "Thank you ... call {emergency_number} now" do not match.
EMERGENCY_START = re.compile(
    r"^(?:[^\w\s{]+\s+)?(?:If [^.!?:{}]{1,80}, )?call \{emergency_number\} now\b", re.IGNORECASE
)
# "I've alerted them", "we have alerted", "passed your message / it to your practitioner" (not "I haven't alerted")
ANNOUNCES_ALERT = re.compile(
    r"\b(?:I've|I have|we've|we have) alerted\b"
    r"|\bpassed (?:your message|it|this) to your practitioner\b",
    re.IGNORECASE,
)
# The last sentence of normal advice.
CLOSING = re.compile(r"(?:^|[.!?] )(Message us or call \{clinic_phone\} if [^.!?]+\.)$")
# The guide's warning signs, each as the closing line must name it.
WARNING_SIGNS = (
    "pain increases after the first day",
    "spreading redness",
    "increasing warmth",
    "pus",
    "fever",
    "swelling lasting beyond a few days",
)
# The emergency replies, checked even if no criterion uses one at the moment.
EMERGENCY_KEYS = {"call_emergency", "vascular_emergency"}


def _texts() -> Dict[str, List[str]]:
    data = yaml.safe_load(RESPONSES.read_text(encoding="utf-8"))
    return {name: [" ".join(v["text"].split()) for v in variants] for name, variants in data["responses"].items()}


def _advice_sets(level: Level) -> Dict[str, tuple]:
    return {c.id: c.advice for c in load_criteria() if c.level is level}


# --- the assertions themselves must bite -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, starts_with_the_call",
    [
        ("🚨 Call {emergency_number} now. Don't drive yourself.", True),
        ("Call {emergency_number} now.", True),
        ("⚠️ If your breathing, swallowing, vision or speech is getting worse, call {emergency_number} now.", True),
        ("🚨 Please call emergency services now (999 / 112 / 911).", False),
        ("Thank you for telling us. Call {emergency_number} now.", False),
        ("🚨 Call {clinic_phone} now.", False),
        ("🚨 Call {emergency_number} if it gets worse.", False),
        ("If in doubt. Then, call {emergency_number} now.", False),
    ],
)
def test_the_emergency_start_rule(text: str, starts_with_the_call: bool) -> None:
    assert bool(EMERGENCY_START.match(text)) is starts_with_the_call


def test_the_closing_rule() -> None:
    assert CLOSING.search("Keep it clean. Message us or call {clinic_phone} if you notice pus.")
    assert not CLOSING.search("Message us or call {clinic_phone} if you notice pus. Otherwise relax.")
    assert not CLOSING.search("Keep it clean. Message us straight away if you notice pus.")


# --- emergency ---------------------------------------------------------------------------------------------------


def test_every_emergency_reply_starts_with_the_call_to_the_emergency_number() -> None:
    texts = _texts()
    keys = EMERGENCY_KEYS | {key for advice in _advice_sets(Level.EMERGENCY).values() for key in advice}
    assert EMERGENCY_KEYS <= keys
    for key in sorted(keys):
        for text in texts[response_name(key)]:
            assert EMERGENCY_START.match(text), f"{response_name(key)} must start with the call: {text[:80]!r}"


def test_no_reply_hard_codes_an_emergency_number() -> None:
    for name, variants in _texts().items():
        for text in variants:
            assert not re.search(r"\b(?:999|112|911)\b", text), f"{name}: use {{emergency_number}}"


def test_the_vascular_emergency_reply_sends_them_to_the_clinic_now_and_asks_for_no_photo() -> None:
    [text] = _texts()["utter_advice_vascular_emergency"]
    assert "{clinic_phone}" in text and "NOW" in text
    assert re.search(r"vision or speech", text) and "on-call" in text
    for colour in ("pale", "white", "grey", "dusky", "mottled"):
        assert colour in text
    assert "photo" not in text.lower() and "wait and see" not in text.lower()


# --- urgent ------------------------------------------------------------------------------------------------------


def _says_what_to_do_next(text: str) -> List[str]:
    return [
        p for p in ("{clinic_phone}", "{callback_minutes}", "{clinic_hours}", "{emergency_number}") if p not in text
    ]


def test_every_reply_that_announces_an_alert_gives_phone_callback_time_and_out_of_hours() -> None:
    announcing = {
        name: variants
        for name, variants in _texts().items()
        if any(ANNOUNCES_ALERT.search(t) for t in variants) and not name.endswith("_emergency")
    }
    assert {
        "utter_advice_practitioner_alerted",
        "utter_advice_unsure_escalated",
        "utter_advice_not_understood_escalated",
    } <= set(announcing)
    for name, variants in announcing.items():
        for text in variants:
            assert not _says_what_to_do_next(text), f"{name} lacks {_says_what_to_do_next(text)}"
            assert re.search(r"within \{callback_minutes\} minutes", text), name
            assert re.search(r"out-of-hours|urgent care", text), name


def test_every_urgent_advice_set_gives_phone_callback_time_and_out_of_hours() -> None:
    texts = _texts()
    for criterion, advice in _advice_sets(Level.URGENT).items():
        said = " ".join(text for key in advice for text in texts[response_name(key)])
        assert not _says_what_to_do_next(said), f"{criterion} {advice} lacks {_says_what_to_do_next(said)}"


# --- normal ------------------------------------------------------------------------------------------------------


def _closing(text: str) -> str:
    match = CLOSING.search(text)
    assert match, f"does not end with 'Message us or call {{clinic_phone}} if ...': {text[-90:]!r}"
    return match.group(1)


def test_every_normal_advice_set_ends_with_message_us_or_call_and_the_warning_signs() -> None:
    texts = _texts()
    sets = _advice_sets(Level.NORMAL)
    assert sets
    for criterion, advice in sets.items():
        closing = _closing(texts[response_name(advice[-1])][-1])
        missing = [sign for sign in WARNING_SIGNS if sign not in closing]
        assert not missing, f"{criterion}: the closing line does not name {missing}"


def test_normal_advice_for_two_findings_still_ends_with_the_closing_line() -> None:
    from bot.triage import engine

    by_id = {c.id: c for c in load_criteria()}
    advice = engine._advice([by_id["redness_expected"], by_id["warmth_expected"]], Level.NORMAL)
    _closing(_texts()[response_name(advice[-1])][-1])


def test_nothing_wrong_ends_with_the_same_closing_line_as_normal_advice() -> None:
    texts = _texts()
    basics = _closing(texts["utter_advice_aftercare_basics"][0])
    assert _closing(texts["utter_advice_nothing_wrong"][0]) == basics


def test_watch_for_raises_no_alert_and_names_the_warning_signs_and_both_numbers() -> None:
    [text] = _texts()["utter_advice_watch_for"]
    assert not re.search(r"\bI've alerted|\bhave alerted|passed", text)
    assert "{clinic_phone}" in text and "{emergency_number}" in text
    for sign in ("pain", "spreading redness", "increasing warmth", "pus", "fever", "swelling"):
        assert sign in text, sign
    for emergency in ("breathing", "throat", "faint", "vision", "speech"):
        assert emergency in text, emergency


# --- placeholders ------------------------------------------------------------------------------------------------


def _placeholders(text: str) -> set:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


def test_every_placeholder_is_one_the_settings_fill() -> None:
    for name, text in load_responses().items():
        unknown = _placeholders(text) - set(CLINIC_PLACEHOLDERS)
        assert not unknown, f"{name} uses {sorted(unknown)}; known: {CLINIC_PLACEHOLDERS}"


def test_rendering_with_the_clinic_settings_leaves_no_placeholder() -> None:
    settings = Settings.from_env(
        env={
            "CLINIC_PHONE": "0123 456",
            "EMERGENCY_NUMBER": "112",
            "PATIENT_CALLBACK_MINUTES": "45",
            "CLINIC_HOURS": "Mon–Sat 8:00–20:00",
        }
    )
    slots = clinic_slots(settings)
    assert set(slots) == set(CLINIC_PLACEHOLDERS)
    for name in load_responses():
        text = render(name, slots)
        assert "{" not in text and "}" not in text, f"{name}: {text}"
    alerted = render("utter_advice_practitioner_alerted", slots)
    assert "within 45 minutes" in alerted and "0123 456" in alerted and "(Mon–Sat 8:00–20:00)" in alerted
    assert render("utter_advice_call_emergency", slots).startswith("🚨 Call 112 now.")
