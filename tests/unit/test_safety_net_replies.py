"""The gateway's safety net (Rasa down, bot/bootstrap/gateway.py) renders the advice texts itself: every placeholder
must be filled from the clinic's settings, exactly as action_session_start fills Rasa's slots. Never a literal
"{callback_minutes}" in a patient's chat."""

from __future__ import annotations

import pytest

from bot.bootstrap.gateway import SafetyNetTriage
from bot.nlp import analyze
from bot.settings import Settings
from bot.triage.criteria import load_criteria
from bot.usecases.triage import ClinicService
from tests.unit.clinic_db import clinic_with_a_patient

ENV = {
    "CLINIC_PHONE": "0123 456",
    "EMERGENCY_NUMBER": "112",
    "PATIENT_CALLBACK_MINUTES": "45",
    "CLINIC_HOURS": "Mon–Sat 8:00–20:00",
}


def symptom(value: str, text: str) -> dict:
    return {"entity": "symptom", "value": value, "start": 0, "end": len(text), "text": text}


@pytest.fixture
def safety_net(tmp_path, monkeypatch):
    """The safety net over a temporary clinic (a patient treated 30 h ago). The words are given as entities, so
    what is tested here is the rendering, not the language pipeline (tested in tests/unit/nlp)."""
    url, factory, patient_id = clinic_with_a_patient(tmp_path)
    settings = Settings.from_env(env={"DATABASE_URL": url, **ENV})
    net = SafetyNetTriage(ClinicService(load_criteria(settings.criteria_path), factory, settings))
    entities = {}
    monkeypatch.setattr(analyze, "analyze_text", lambda text, *args, **kwargs: entities[text])

    def say(text: str, *found: dict) -> list:
        entities[text] = list(found)
        return net._triage(patient_id, text)

    return say


def assert_filled(replies: list) -> None:
    assert replies
    for reply in replies:
        assert "{" not in reply and "}" not in reply, reply


def test_urgent_reply_gives_the_clinics_phone_callback_time_and_hours(safety_net) -> None:
    replies = safety_net("there is pus", symptom("discharge", "pus"))
    assert_filled(replies)
    first = replies[0]
    assert "0123 456" in first and "within 45 minutes" in first and "Mon–Sat 8:00–20:00" in first and "112" in first


def test_emergency_reply_starts_with_the_emergency_number(safety_net) -> None:
    replies = safety_net("I can't breathe", symptom("breathing_difficulty", "can't breathe"))
    assert_filled(replies)
    assert replies[0].startswith("🚨 Call 112 now.")


def test_normal_reply_ends_with_message_us_or_call_the_clinic(safety_net) -> None:
    # With Rasa down nobody says how sure the parse is, so a symptom fails closed; a low pain score does not.
    replies = safety_net("pain is 2/10", {"entity": "pain_score", "value": "2", "start": 8, "end": 12, "text": "2/10"})
    assert_filled(replies)
    assert replies[-1].endswith("swelling lasting beyond a few days.")
    assert "Message us or call 0123 456 if" in replies[-1]
