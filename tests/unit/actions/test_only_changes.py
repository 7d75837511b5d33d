"""Slot events that change nothing are not sent back to Rasa (each one is stored and replayed on every turn)."""

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet

from actions.triage_input import only_changes


def _tracker(**slots) -> Tracker:
    return Tracker("patient-1", slots, {}, [], False, None, {}, "action_listen")


def test_a_slot_set_to_the_value_it_has_is_left_out() -> None:
    tracker = _tracker(pending_report=None, triage_level="urgent", pain_score=None)
    events = [
        SlotSet("pending_report", None),
        SlotSet("triage_level", "urgent"),
        SlotSet("pain_score", "7"),
        ActiveLoop(None),
    ]
    assert only_changes(tracker, events) == [SlotSet("pain_score", "7"), ActiveLoop(None)]


def test_clearing_a_filled_slot_is_kept() -> None:
    tracker = _tracker(pending_report={"findings": []})
    assert only_changes(tracker, [SlotSet("pending_report", None)]) == [SlotSet("pending_report", None)]
