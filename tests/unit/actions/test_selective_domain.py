"""The action endpoint sends the domain only to the actions that read it (Rasa's selective domain): an action
that reads it without saying so in domain.yml would get an empty one at run time."""

from pathlib import Path

import pytest
import yaml
from rasa.shared.core.domain import Domain
from rasa_sdk.executor import CollectingDispatcher

from actions.action_screening import ActionSubmitScreening
from actions.action_triage import ActionTriage
from actions.form_triage_details import ValidateTriageDetailsForm
from tests.unit.actions.conftest import FORM, NoDomain, responses, slot_events

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("endpoints", ["endpoints.yml", "endpoints.production.yml"])
def test_both_profiles_send_the_domain_selectively(endpoints: str) -> None:
    config = yaml.safe_load((ROOT / endpoints).read_text(encoding="utf-8"))
    assert config["action_endpoint"]["enable_selective_domain"] is True


def test_the_actions_that_read_the_domain_get_it_and_only_those() -> None:
    domain = Domain.load(str(ROOT / "domain.yml"))
    listed = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["actions"]
    names = [next(iter(entry)) if isinstance(entry, dict) else entry for entry in listed]
    needs = {name: domain.does_custom_action_explicitly_need_domain(name) for name in names}
    assert needs == {
        "action_session_start": False,
        "validate_screening_form": True,  # rasa_sdk's FormValidationAction reads the form's slots
        "validate_triage_details_form": False,  # ...which this one takes from the constants
        "action_triage": False,
        "action_submit_screening": False,
    }


@pytest.mark.parametrize(
    "text, said, requested",
    [
        ("about 3", [], "detail_trend"),  # read, and the next question
        ("lots", ["utter_invalid_detail_pain_score"], "detail_pain_score"),  # asked again
        ("now there is pus coming out", ["utter_advice_practitioner_alerted"], None),  # the form ends, triaged
    ],
)
async def test_the_details_form_runs_without_the_domain(clinic, make_tracker, text, said, requested) -> None:
    pending = {"findings": [{"symptom": "pain", "text": "it's a bit sore"}]}
    tracker = make_tracker(
        text,
        intent="inform",
        sender=clinic["sender"],
        active_loop=FORM,
        slots={"pending_report": pending, "requested_slot": "detail_pain_score", "detail_pain_score": text},
        events=[{"event": "slot", "name": "detail_pain_score", "value": text}],
    )
    dispatcher = CollectingDispatcher()
    events = await ValidateTriageDetailsForm().run(dispatcher, tracker, NoDomain())
    assert responses(dispatcher)[: len(said)] == said and (said or not responses(dispatcher))
    asked = [e["value"] for e in events if e.get("event") == "slot" and e["name"] == "requested_slot"]
    assert asked[-1] == requested


async def test_triage_runs_without_the_domain(clinic, make_tracker) -> None:
    for text in ("now there is yellow pus oozing from the needle marks", "it's a bit sore"):
        dispatcher = CollectingDispatcher()
        events = await ActionTriage().run(dispatcher, make_tracker(text, sender=clinic["sender"]), NoDomain())
        assert responses(dispatcher)
    assert slot_events(events)["requested_slot"] and any(e.get("name") == FORM for e in events)


async def test_the_screening_is_submitted_without_the_domain(clinic, make_tracker) -> None:
    answers = {f"screening_{key}": "no" for key in ("infection", "isotretinoin", "autoimmune_bleeding")}
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("no", intent="deny", sender=clinic["sender"], slots=answers)
    await ActionSubmitScreening().run(dispatcher, tracker, NoDomain())
    assert responses(dispatcher)
