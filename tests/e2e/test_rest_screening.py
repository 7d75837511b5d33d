"""The pre-treatment screening with the real Rasa server and action server (REST channel): the form asks every
question, reads typed and button answers, stores them, and queues the practitioner's alert for a "yes"."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.responses import RESPONSE_FILES, load_responses
from bot.settings import PROJECT_ROOT
from bot.store import db
from bot.store.models import AlertDelivery, Screening
from bot.store.uow import UnitOfWork
from bot.usecases import appointments, enrolment
from tests.e2e.test_rest_conversations import SLOTS, say

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]
SCREENING_TEXTS = load_responses(RESPONSE_FILES + (PROJECT_ROOT / "data" / "nlu" / "screening.yml",))


def render(name: str, slots) -> str:
    return SCREENING_TEXTS[name].format_map(slots)


QUESTIONS = [
    "utter_ask_screening_infection",
    "utter_ask_screening_isotretinoin",
    "utter_ask_screening_autoimmune_bleeding",
    "utter_ask_screening_blood_thinners",
    "utter_ask_screening_keloid",
    "utter_ask_screening_pregnancy",
    "utter_ask_screening_cold_sores",
]


@pytest.fixture
def booked_patient(servers):
    """A patient (no treatment yet) with an appointment in a week and a practitioner with a chat."""
    factory = db.make_session_factory(servers.database_url)
    now = dt.datetime.now(dt.timezone.utc)
    uow = UnitOfWork(factory)
    doctor = enrolment.add_practitioner(uow, "Dr Screen", "treating", chat_id=770_000 + now.microsecond)
    patient = enrolment.add_patient(uow, "Sam Screening")
    appointments.add_appointment(uow, patient.id, now + dt.timedelta(days=7), "face", "microneedling", doctor.id)
    yield factory, patient.id, doctor.telegram_chat_id
    factory.kw["bind"].dispose()


def test_screening_with_a_typed_yes_alerts_the_practitioner(servers, booked_patient):
    factory, patient_id, doctor_chat = booked_patient
    sender = f"patient-{patient_id}"
    replies = say(servers, sender, "can I do the screening questions")
    assert replies[-1] == render(QUESTIONS[0], SLOTS)
    answers = ["no", "/deny", "nope", "yes on warfarin", "what's the weather in paris", "no", "not sure", "no"]
    for answer in answers:
        replies = say(servers, sender, answer)
        if answer.startswith("what's"):  # not an answer: asked again, with help
            assert replies == [render("utter_screening_answer_help", SLOTS), render(QUESTIONS[4], SLOTS)]
    assert replies == [render("utter_screening_review", SLOTS)]

    with UnitOfWork(factory) as uow:
        screening = uow.session.execute(select(Screening).where(Screening.patient_id == patient_id)).scalar_one()
        deliveries = list(
            uow.session.execute(select(AlertDelivery).where(AlertDelivery.screening_id == screening.id)).scalars()
        )
    assert screening.answers == {
        "infection": "no",
        "isotretinoin": "no",
        "autoimmune_bleeding": "no",
        "blood_thinners": "yes",
        "keloid": "no",
        "pregnancy": "unsure",
        "cold_sores": "no",
    }
    assert [(d.kind, d.chat_id) for d in deliveries] == [("screening", doctor_chat)]
