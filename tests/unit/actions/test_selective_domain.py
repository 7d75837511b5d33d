"""The action endpoint sends the domain only to the actions that read it (Rasa's selective domain): an action
that reads it without saying so in domain.yml would get an empty one at run time."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.shared.core.domain import Domain
from rasa_sdk.executor import CollectingDispatcher

from actions.action_screening import ActionSubmitScreening
from actions.action_triage import ActionTriage
from tests.unit.actions.conftest import FORM, responses, slot_events

ROOT = Path(__file__).resolve().parents[3]


class NoDomain(dict):
    """What such an action gets: reading it in any way fails this test instead of quietly finding nothing."""

    def _read(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("read the domain without send_domain")

    __getitem__ = __contains__ = __iter__ = __len__ = __bool__ = get = keys = items = values = _read


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
        "action_session_start": True,  # the slots' initial values
        "validate_screening_form": True,  # rasa_sdk's FormValidationAction reads the form's slots
        "validate_triage_details_form": True,
        "action_triage": False,
        "action_submit_screening": False,
    }


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
