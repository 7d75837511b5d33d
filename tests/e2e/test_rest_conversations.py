"""Conversations with the real Rasa server and action server over the REST channel: one per triage level,
asserting the replies are the advice texts the criteria choose (bot.responses renders the same files), then the
clarifying questions (the triage details form) and the check-in quick answers."""

from __future__ import annotations

import uuid

import httpx
import pytest

from bot.responses import clinic_slots, render
from bot.settings import Settings
from bot.triage.advice import response_name
from tests.e2e.conftest import CLINIC_ENV

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]
# What action_session_start puts into the slots for the servers' settings (tests/e2e/conftest.py).
SLOTS = clinic_slots(Settings.from_env(env=CLINIC_ENV))


def say(servers, sender: str, text: str, keep_disclaimer: bool = False) -> list:
    """The bot's replies; the first-contact disclaimer (tested on its own) is left out unless asked for."""
    response = httpx.post(
        f"{servers.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=30
    )
    response.raise_for_status()
    replies = [item.get("text", "") for item in response.json()]
    disclaimer = render("utter_disclaimer", SLOTS)
    return replies if keep_disclaimer else [r for r in replies if r != disclaimer]


def advice(key: str) -> str:
    return render(response_name(key), SLOTS)


@pytest.fixture
def sender():
    return f"e2e-{uuid.uuid4().hex[:8]}"


def test_first_contact_says_it_is_automated_and_how_to_reach_people(servers, sender):
    replies = say(servers, sender, "hello", keep_disclaimer=True)
    assert "automated" in replies[0] and "+44 20 7946 0000" in replies[0] and "999" in replies[0]


def test_normal_reaction(servers, sender):
    replies = say(servers, sender, "had it done this morning, my face is red and a bit puffy")
    if render("utter_ask_detail_trend", SLOTS) in replies:
        replies = say(servers, sender, "getting better")
    assert advice("practitioner_alerted") not in replies
    assert advice("expected_redness_swelling") in replies


def test_monitor(servers, sender):
    replies = say(servers, sender, "I had microinjections 2 days ago and there is some bruising where the needles went")
    if render("utter_ask_detail_trend", SLOTS) in replies:
        replies = say(servers, sender, "about the same")
    assert advice("monitor_bruising") in replies
    assert advice("practitioner_alerted") not in replies


def test_urgent(servers, sender):
    replies = say(servers, sender, "treatment was 3 days ago and now there's pus and the redness is spreading")
    assert replies[0] == advice("practitioner_alerted")


def test_emergency(servers, sender):
    replies = say(servers, sender, "my tongue is swelling and I can't breathe")
    assert replies[0] == advice("call_emergency")


def test_no_symptom_is_not_triaged(servers, sender):
    say(servers, sender, "hi")
    replies = say(servers, sender, "what's the weather like in paris")
    assert not any(r.startswith(advice("practitioner_alerted")[:40]) for r in replies)
    assert replies == [render("utter_out_of_scope", SLOTS)]


def said(name: str) -> str:
    return render(name, SLOTS)


def test_details_form_asks_re_asks_after_a_bad_answer_then_advises(servers, sender):
    assert say(servers, sender, "it's a bit sore") == [said("utter_ask_detail_hours_since_treatment")]
    assert say(servers, sender, "yesterday") == [said("utter_ask_detail_pain_score")]
    assert say(servers, sender, "eleven") == [
        said("utter_invalid_detail_pain_score"),
        said("utter_ask_detail_pain_score"),
    ]
    replies = say(servers, sender, "about a 3")
    if replies == [said("utter_ask_detail_trend")]:
        replies = say(servers, sender, "getting better")
    assert replies and advice("practitioner_alerted") not in replies
    # once: the validation action answers the last answer itself, and Rasa listens (no second triage)
    assert replies.count(advice("aftercare_basics")) == 1


def test_a_button_payload_answers_the_question(servers, sender):
    # (Not "my face is quite swollen": with no time known the second reading is sure enough of that one to pass it
    # to the practitioner at once rather than ask.)
    assert say(servers, sender, "a bit red and swollen") == [said("utter_ask_detail_hours_since_treatment")]
    # the "A week or more" button: swelling that late is a red flag
    replies = say(servers, sender, '/inform{"detail_answer": "1 week ago"}')
    assert replies[0] == advice("practitioner_alerted")


def test_a_red_flag_during_the_questions_is_escalated_at_once(servers, sender):
    assert say(servers, sender, "it's a bit sore") == [said("utter_ask_detail_hours_since_treatment")]
    replies = say(servers, sender, "now there's pus coming out")
    assert replies[0] == advice("practitioner_alerted")
    assert replies.count(advice("practitioner_alerted")) == 1  # one triage of the message, not a second one
    assert said("utter_invalid_detail_hours_since_treatment") not in replies


def test_stop_leaves_the_questions_with_advice_for_what_is_known(servers, sender):
    assert say(servers, sender, "it's a bit sore") == [said("utter_ask_detail_hours_since_treatment")]
    replies = say(servers, sender, "never mind")
    assert replies[0] == said("utter_details_stopped") and len(replies) > 1
    assert say(servers, sender, "thanks") == [said("utter_welcome")]


def test_check_in_quick_answers(servers, sender):
    from bot.checkins.texts import QUICK_ANSWERS

    payload = dict(QUICK_ANSWERS)
    assert say(servers, sender, payload["All good"]) == [said("utter_all_good")]
    assert say(servers, sender, payload["Something worries me"]) == [said("utter_ask_describe")]
    replies = say(servers, sender, payload["Some redness"])  # triaged: advice, or first a question
    assert replies and said("utter_ask_describe") not in replies
