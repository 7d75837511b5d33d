"""The escalation policy with an injected clock: who is alerted first, when reminders and backups are due."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

from bot.escalation.policy import BACKUP, REALERT, EscalationPolicy, PractitionerRef, due_followups
from bot.triage.model import Level
from tests.unit.escalation.clinic_staff import BACKUP_PERSON, ON_CALL, POLICY, STAFF, TREATING, at, state


def test_from_settings():
    policy = EscalationPolicy.from_settings(
        SimpleNamespace(escalation_realert_minutes=5, escalation_backup_after_minutes=15)
    )
    assert (policy.realert_after, policy.backup_after) == (dt.timedelta(minutes=5), dt.timedelta(minutes=15))


def test_urgent_goes_to_treating_only():
    assert POLICY.initial_recipients(Level.URGENT, TREATING, STAFF) == [TREATING]


def test_emergency_goes_to_treating_and_on_call():
    assert POLICY.initial_recipients(Level.EMERGENCY, TREATING, STAFF) == [TREATING, ON_CALL]


def test_unreachable_treating_falls_back_to_on_call_then_backup():
    no_chat = PractitionerRef(1, "treating", None)
    inactive = PractitionerRef(1, "treating", 101, active=False)
    assert POLICY.initial_recipients(Level.URGENT, no_chat, STAFF) == [ON_CALL]
    assert POLICY.initial_recipients(Level.URGENT, inactive, (inactive, BACKUP_PERSON)) == [BACKUP_PERSON]
    assert POLICY.initial_recipients(Level.URGENT, None, ()) == []


def test_nothing_due_before_realert_time():
    assert due_followups(state(), at(9.99), POLICY) == []


def test_realert_treating_after_n_minutes():
    assert due_followups(state(), at(10), POLICY) == [(1, REALERT, 1)]


def test_backup_after_m_minutes():
    assert due_followups(state(queued=frozenset({(1, REALERT, 1)})), at(20), POLICY) == [
        (1, REALERT, 2),
        (3, BACKUP, 1),
    ]


def test_backup_falls_back_to_on_call_when_no_backup_role():
    assert (2, BACKUP, 1) in due_followups(state(staff=(TREATING, ON_CALL)), at(25), POLICY)


def test_already_queued_followups_are_not_due_again():
    queued = frozenset({(1, REALERT, 2), (3, BACKUP, 1)})
    assert due_followups(state(queued=queued), at(25), POLICY) == []


def test_catch_up_sends_only_the_latest_reminder_and_caps_rounds():
    late = due_followups(state(), at(35), POLICY)
    assert [f for f in late if f[1] == REALERT] == [(1, REALERT, 3)]
    much_later = due_followups(state(queued=frozenset({(1, REALERT, 3), (3, BACKUP, 1)})), at(300), POLICY)
    assert much_later == []  # max_realerts=3


def test_acknowledged_or_resolved_escalations_need_nothing():
    assert due_followups(state(state="acknowledged"), at(60), POLICY) == []
    assert due_followups(state(state="resolved"), at(60), POLICY) == []
