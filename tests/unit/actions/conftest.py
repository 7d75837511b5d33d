"""Tracker fixtures for the action tests: real entities from our spaCy pipeline, a real (temporary) store."""
import datetime as dt
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import service as action_service
from bot.nlp import pipeline
from bot.nlp.analyze import entities_from_doc
from bot.service import ClinicService
from bot.settings import Settings
from bot.store import db, repository
from bot.store.uow import UnitOfWork
from bot.triage.criteria import load_criteria


@pytest.fixture(scope="session")
def nlp():
    return pipeline.create()


@pytest.fixture
def entities_for(nlp):
    return lambda text: entities_from_doc(nlp(text))


@pytest.fixture
def clinic(tmp_path):
    """A clinic on a temporary SQLite database: one treating practitioner, one patient treated 30 h ago."""
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    db.upgrade(url)
    factory = db.make_session_factory(url)
    now = dt.datetime.now(dt.timezone.utc)
    with UnitOfWork(factory) as uow:
        doctor = repository.add_practitioner(uow, "Dr Lee", role="treating", chat_id=500, actor="test")
        uow.flush()
        new = repository.add_patient_with_treatment(uow, "Ann", now - dt.timedelta(hours=30), "face",
                                                    "microneedling", doctor.id, now=now)
        uow.commit()
        patient_id = new.patient.id
    settings = Settings.from_env(env={"DATABASE_URL": url, "CLINIC_PHONE": "0123 456"})
    service = ClinicService(load_criteria(settings.criteria_path), factory, settings)
    action_service.set_service(service)
    yield {"service": service, "factory": factory, "patient_id": patient_id, "sender": f"patient-{patient_id}"}
    action_service.set_service(None)


@pytest.fixture
def make_tracker(entities_for):
    def make(text: str, intent: str = "report_symptom", confidence: float = 0.97, sender: str = "default",
             slots: Optional[Dict[str, Any]] = None) -> Tracker:
        message = {"text": text, "intent": {"name": intent, "confidence": confidence},
                   "entities": entities_for(text)}
        return Tracker(sender_id=sender, slots=dict(slots or {}), latest_message=message, events=[], paused=False,
                       followup_action=None, active_loop={}, latest_action_name="action_listen")

    return make


def responses(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("response") for m in dispatcher.messages]


def slot_events(events) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
