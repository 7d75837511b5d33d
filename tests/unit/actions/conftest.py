"""Tracker fixtures for the action tests: real entities from our spaCy pipeline, a real (temporary) store."""

from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import service as action_service
from bot.nlp import pipeline
from bot.nlp.analyze import entities_from_doc
from bot.settings import Settings
from bot.triage.criteria import load_criteria
from bot.usecases.triage import ClinicService
from tests.unit.clinic_db import clinic_with_a_patient


@pytest.fixture(scope="session")
def nlp():
    return pipeline.create()


@pytest.fixture
def entities_for(nlp):
    return lambda text: entities_from_doc(nlp(text))


@pytest.fixture
def clinic(tmp_path):
    """A clinic on a temporary SQLite database: one treating practitioner, one patient treated 30 h ago."""
    url, factory, patient_id = clinic_with_a_patient(tmp_path)
    settings = Settings.from_env(env={"DATABASE_URL": url, "CLINIC_PHONE": "0123 456"})
    service = ClinicService(load_criteria(settings.criteria_path), factory, settings)
    action_service.set_service(service)
    yield {"service": service, "factory": factory, "patient_id": patient_id, "sender": f"patient-{patient_id}"}
    action_service.set_service(None)


@pytest.fixture
def make_tracker(entities_for):
    def make(
        text: str,
        intent: str = "report_symptom",
        confidence: float = 0.97,
        sender: str = "default",
        slots: Optional[Dict[str, Any]] = None,
        events: Optional[List[Dict[str, Any]]] = None,
        active_loop: Optional[str] = None,
    ) -> Tracker:
        message = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": entities_for(text)}
        return Tracker(
            sender_id=sender,
            slots=dict(slots or {}),
            latest_message=message,
            events=list(events or []),
            paused=False,
            followup_action=None,
            active_loop={"name": active_loop} if active_loop else {},
            latest_action_name="action_listen",
        )

    return make


class NoDomain(dict):
    """What an action gets when domain.yml does not have Rasa send it the domain (selective domain): reading it in
    any way fails the test instead of quietly finding nothing."""

    def _read(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read the domain without send_domain")

    __getitem__ = __contains__ = __iter__ = __len__ = __bool__ = get = keys = items = values = _read


def responses(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("response") for m in dispatcher.messages]


def slot_events(events) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[3] / "domain.yml").read_text(encoding="utf-8"))
FORM = "triage_details_form"


class Conversation:
    """Plays Rasa's part around the actions, as the domain and data/rules describe it: a message goes to
    action_triage; when that opens the details form and asks its first question, the patient's answers go to the
    form: its validation action runs (after Rasa's from_text extraction has put the patient's words into the
    requested slot), the form asks `utter_ask_<slot>`, and when the form ends (or the patient says stop)
    action_triage answers (in the validation's own call, when that logs action_triage's run). The e2e tests run the
    real thing."""

    def __init__(self, make_tracker, sender: str = "default"):
        self.make, self.sender = make_tracker, sender
        self.slots: Dict[str, Any] = {}
        self.form_active = False
        self.events: List[Dict[str, Any]] = []  # every event the actions returned, in order

    async def say(self, text: str, intent: str = "report_symptom", confidence: float = 0.97) -> List[str]:
        from actions.action_triage import ActionTriage

        said: List[str] = []
        if not self.form_active:
            events = await self._run(ActionTriage(), said, text, intent, confidence)
            if any(e.get("event") == "active_loop" and e.get("name") == FORM for e in events):
                self.form_active = True
                if not any(e.get("event") == "action" and e.get("name") == FORM for e in events):
                    # Rasa runs the form next unless the action logged the form's run itself (then it listens).
                    await self._form(said, text, intent, confidence, extracted=None)
            return said
        if intent == "stop":  # the form rejects (no mapping for stop), the unhappy-path rule takes over
            self.form_active = False
            self.slots["requested_slot"] = None
            said.append("utter_details_stopped")
            await self._run(ActionTriage(), said, text, intent, confidence)
            return said
        await self._form(said, text, intent, confidence, extracted=self.slots.get("requested_slot"))
        return said

    async def _form(self, said, text, intent, confidence, extracted: Optional[str]) -> None:
        from actions.action_triage import ActionTriage
        from actions.form_triage_details import ValidateTriageDetailsForm

        candidates = []
        if extracted:
            self.slots[extracted] = text
            candidates = [{"event": "slot", "name": extracted, "value": text}]
        events = await self._run(ValidateTriageDetailsForm(), said, text, intent, confidence, candidates)
        if not any(e.get("event") == "slot" and e.get("name") == "requested_slot" for e in events):
            # Rasa's form then picks the next question itself: the first empty slot of the form's required_slots.
            required = DOMAIN["forms"][FORM]["required_slots"]
            self.slots["requested_slot"] = next((s for s in required if self.slots.get(s) is None), None)
        requested = self.slots.get("requested_slot")
        if requested:
            said.append(f"utter_ask_{requested}")
        else:
            self.form_active = False
            if not any(e.get("event") == "action" and e.get("name") == "action_triage" for e in events):
                # Rasa runs action_triage next (rule: form ended) unless the validation logged its run itself.
                await self._run(ActionTriage(), said, text, intent, confidence)

    async def _run(self, action, said, text, intent, confidence, candidates=()) -> List[Dict[str, Any]]:
        dispatcher = CollectingDispatcher()
        tracker = self.make(
            text,
            intent=intent,
            confidence=confidence,
            sender=self.sender,
            slots=self.slots,
            events=list(candidates),
            active_loop=FORM if self.form_active else None,
        )
        events = await action.run(dispatcher, tracker, DOMAIN)
        said.extend(responses(dispatcher))
        self.slots.update(slot_events(events))
        self.events.extend(events)
        return events


@pytest.fixture
def conversation(make_tracker):
    return lambda sender="default": Conversation(make_tracker, sender)
