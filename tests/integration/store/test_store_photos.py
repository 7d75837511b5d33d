"""Patients' photos reach the practitioner (issue 15), on both backends: the report's photo goes out after the
alert; a photo sent while the escalation is open is forwarded once to each practitioner already alerted (an outbox
row of kind "photo"); a photo that cannot be sent never fails, repeats or fails over the alert; /patient's photos
are an audited read."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from store_fake_messenger import RecordingMessenger
from store_helpers import NOW, ON_CALL_CHAT, TREATING_CHAT, decision

from bot.delivery.alerts import Notifier
from bot.escalation.policy import EscalationPolicy
from bot.outbox.errors import PermanentSendError
from bot.store.models import AlertDelivery, AuditEvent
from bot.store.uow import UnitOfWork
from bot.triage.model import Level
from bot.usecases import escalations, records, reports

QUIET_POLICY = EscalationPolicy(realert_after=dt.timedelta(days=30), backup_after=dt.timedelta(days=30))


class PhotoMessenger(RecordingMessenger):
    """Records photos too; `photo_error` is raised by every send_photo when set."""

    def __init__(self, photo_error: Exception = None) -> None:
        super().__init__()
        self.photos = []
        self.photo_error = photo_error

    async def send_photo(self, chat_id, file_id, caption):
        if self.photo_error is not None:
            raise self.photo_error
        self.photos.append((chat_id, file_id, caption))
        return f"p{len(self.photos)}"


def _notifier(session_factory, messenger) -> Notifier:
    return Notifier(session_factory, messenger, policy=QUIET_POLICY, rng=random.Random(7))


def _at(seconds: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=seconds)


def _photo(session_factory, clinic, file_id: str, now: dt.datetime, caption=None):
    return reports.attach_photo(UnitOfWork(session_factory), clinic.patient_id, file_id, now=now, caption=caption)


def _report(session_factory, clinic, text="pus everywhere", now=NOW) -> int:
    recorded = reports.record_report(
        UnitOfWork(session_factory),
        clinic.patient_id,
        clinic.treatment_id,
        text,
        decision(Level.URGENT, "discharge"),
        "rasa",
        now=now,
    )
    return recorded.escalation.id


def _rows(session_factory, kind=None):
    with UnitOfWork(session_factory) as uow:
        query = select(AlertDelivery).order_by(AlertDelivery.id)
        if kind is not None:
            query = query.where(AlertDelivery.kind == kind)
        return list(uow.session.execute(query).scalars())


async def test_the_photo_sent_with_the_report_follows_the_alert(session_factory, clinic):
    # The gateway keeps the photo first, then relays its caption (the report) to Rasa.
    _photo(session_factory, clinic, "FILE-WITH-CAPTION", _at(-20), caption="pus everywhere")
    escalation_id = _report(session_factory, clinic)
    messenger = PhotoMessenger()

    stats = await _notifier(session_factory, messenger).run_once(_at(1))

    assert (stats.sent, stats.photos_sent, stats.photos_failed) == (1, 1, 0)
    [(chat_id, text, _)] = messenger.messages
    assert chat_id == TREATING_CHAT and "Photos: 1" in text
    assert messenger.photos == [
        (TREATING_CHAT, "FILE-WITH-CAPTION", f"E{escalation_id} · photo 1 of 1 from the patient")
    ]


async def test_a_photo_that_cannot_be_sent_neither_fails_nor_repeats_the_alert(session_factory, clinic):
    _photo(session_factory, clinic, "FILE-GONE", _at(-20), caption="pus everywhere")
    _report(session_factory, clinic)
    messenger = PhotoMessenger(photo_error=PermanentSendError("Bad Request: wrong file identifier"))

    stats = await _notifier(session_factory, messenger).run_once(_at(1))
    again = await _notifier(session_factory, messenger).run_once(_at(600))

    assert (stats.sent, stats.failed, stats.photos_failed) == (1, 0, 1)
    assert again.claimed == 0 and len(messenger.messages) == 1
    [row] = _rows(session_factory)
    assert (row.kind, row.status) == ("initial", "sent")


async def test_a_photo_sent_while_the_escalation_is_open_reaches_the_alerted_practitioner_once(session_factory, clinic):
    escalation_id = _report(session_factory, clinic)
    messenger = PhotoMessenger()
    await _notifier(session_factory, messenger).run_once(_at(1))  # the alert: to the treating practitioner only

    photo = _photo(session_factory, clinic, "FILE-LATER", _at(60))
    # The same photo queued again (a retried request) adds nothing: the dedupe key is (escalation, recipient, photo).
    with UnitOfWork(session_factory) as uow:
        assert reports._forward_photo(uow, photo, escalation_id, _at(61)) == 0
        uow.commit()
    first = await _notifier(session_factory, messenger).run_once(_at(62))
    second = await _notifier(session_factory, messenger).run_once(_at(600))

    assert (first.sent, second.claimed) == (1, 0)
    caption = f"Photo from the patient of escalation E{escalation_id} (ref E{escalation_id}/photo/{photo.id})"
    assert messenger.photos == [(TREATING_CHAT, "FILE-LATER", caption)]
    assert all(chat != ON_CALL_CHAT for chat, _, _ in messenger.photos)  # never alerted: not sent the photo
    [row] = _rows(session_factory, "photo")
    assert (row.status, row.round, row.practitioner_id) == ("sent", photo.id, clinic.treating_id)


async def test_a_failed_photo_never_pages_anyone_else(session_factory, clinic):
    _report(session_factory, clinic)
    await _notifier(session_factory, PhotoMessenger()).run_once(_at(1))
    _photo(session_factory, clinic, "FILE-REFUSED", _at(60))

    stats = await _notifier(session_factory, PhotoMessenger(PermanentSendError("Forbidden"))).run_once(_at(61))
    await _notifier(session_factory, PhotoMessenger()).run_once(_at(120))

    assert stats.failed == 1
    assert [row.kind for row in _rows(session_factory)] == ["initial", "photo"]  # no failover page, no notice


async def test_photos_after_the_escalation_is_resolved_are_not_forwarded(session_factory, clinic):
    escalation_id = _report(session_factory, clinic)
    await _notifier(session_factory, PhotoMessenger()).run_once(_at(1))
    escalations.resolve(UnitOfWork(session_factory), escalation_id, clinic.treating_id, "seen", now=_at(30))

    _photo(session_factory, clinic, "FILE-AFTER", _at(60))

    assert _rows(session_factory, "photo") == []


def test_the_patients_photos_for_staff_are_an_audited_read(session_factory, clinic):
    _photo(session_factory, clinic, "FILE-1", _at(-60), caption="my cheek")
    _photo(session_factory, clinic, "FILE-2", _at(-30))

    photos = records.patient_photos(UnitOfWork(session_factory), clinic.patient_id, viewer="practitioner:3")

    assert [(p["file_id"], p["caption"]) for p in photos] == [("FILE-1", "my cheek"), ("FILE-2", None)]
    with UnitOfWork(session_factory) as uow:
        [event] = uow.session.execute(select(AuditEvent).where(AuditEvent.action == "photos_viewed")).scalars()
    assert (event.entity_id, event.actor, event.detail) == (clinic.patient_id, "practitioner:3", {"photos": 2})
