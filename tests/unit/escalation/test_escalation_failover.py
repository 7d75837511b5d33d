"""The policy after a permanent send failure (issue 12, part 5): the next recipient is due AT ONCE, and when
nobody is left the escalation reaches nobody (the caller then tells the patient)."""

from __future__ import annotations

from bot.escalation import alerts
from bot.escalation.policy import BACKUP, FAILOVER, INITIAL, REALERT, PractitionerRef, due_followups
from bot.triage.model import Level
from tests.unit.escalation.clinic_staff import POLICY, START, TREATING, at
from tests.unit.escalation.clinic_staff import state as _state


def state(**changes):
    """The initial alert to the treating practitioner is already queued."""
    return _state(**{"queued": frozenset({(1, INITIAL, 0)}), **changes})


def test_treating_blocked_the_bot_pages_on_call_at_once_not_after_20_minutes():
    failed = state(failed=frozenset({1}))
    assert due_followups(failed, at(0), POLICY) == [(2, FAILOVER, 1)]
    assert not POLICY.nobody_reachable(failed)


def test_no_reminders_go_to_a_dead_chat():
    failed = state(failed=frozenset({1}), queued=frozenset({(1, INITIAL, 0), (2, FAILOVER, 1)}))
    assert due_followups(failed, at(10), POLICY) == []  # no realert to the treating practitioner
    # the timed backup still comes, to the backup person (not to the dead treating chat)
    assert due_followups(failed, at(20), POLICY) == [(3, BACKUP, 1)]


def test_nothing_extra_while_the_alert_is_pending_or_sent():
    assert due_followups(state(), at(0), POLICY) == []
    assert not POLICY.nobody_reachable(state())


def test_on_call_failing_too_goes_on_to_backup_at_once():
    both = state(failed=frozenset({1, 2}), queued=frozenset({(1, INITIAL, 0), (2, FAILOVER, 1)}))
    assert due_followups(both, at(1), POLICY) == [(3, FAILOVER, 1)]


def test_no_failover_while_another_recipient_can_still_get_it():
    # an emergency went to treating and on call; the treating chat is dead, the on-call alert is on its way
    emergency = state(
        level=Level.EMERGENCY, failed=frozenset({1}), queued=frozenset({(1, INITIAL, 0), (2, INITIAL, 0)})
    )
    assert due_followups(emergency, at(0), POLICY) == []


def test_every_candidate_failed_is_nobody_reachable():
    everyone = state(
        failed=frozenset({1, 2, 3}), queued=frozenset({(1, INITIAL, 0), (2, FAILOVER, 1), (3, FAILOVER, 1)})
    )
    assert due_followups(everyone, at(30), POLICY) == []
    assert POLICY.nobody_reachable(everyone)
    assert not POLICY.nobody_reachable(state(failed=everyone.failed, queued=everyone.queued, unreachable=True))
    assert not POLICY.nobody_reachable(state(failed=everyone.failed, queued=everyone.queued, state="acknowledged"))


def test_no_backup_at_all_is_nobody_reachable():
    alone = state(staff=(TREATING,), failed=frozenset({1}))
    assert due_followups(alone, at(0), POLICY) == []
    assert POLICY.nobody_reachable(alone)


def test_nobody_to_alert_in_the_first_place_is_nobody_reachable():
    no_chat = PractitionerRef(1, "treating", None)
    assert POLICY.nobody_reachable(state(treating=no_chat, staff=(no_chat,), queued=frozenset()))
    assert POLICY.nobody_reachable(state(treating=None, staff=(), queued=frozenset()))


def test_realert_that_failed_later_also_fails_over():
    later = state(failed=frozenset({1}), queued=frozenset({(1, INITIAL, 0), (1, REALERT, 1)}))
    assert due_followups(later, at(11), POLICY) == [(2, FAILOVER, 1)]


def test_unreachable_notice_tells_the_truth():
    text = alerts.render_unreachable_notice("+44 20 7946 0000", "999", "Glow Clinic")
    assert "could not reach a practitioner" in text
    assert "+44 20 7946 0000" in text and "999" in text
    assert "alerted" not in text.lower()
    text, buttons = alerts.render_minimal(7, "unreachable_notice", 0, "+44 20 7946 0000", "999")
    assert buttons is None and "+44 20 7946 0000" in text


def test_failover_alert_says_why_it_came():
    ctx = alerts.AlertContext(
        escalation_id=7,
        kind=FAILOVER,
        round=1,
        level="urgent",
        patient_name="Ann",
        report_text="pus",
        received_at=START,
    )
    text, buttons = alerts.render(ctx, at(1))
    assert "could not be reached" in text.splitlines()[0] and text.endswith("ref E7/failover/1")
    assert buttons == alerts.action_buttons(7)
