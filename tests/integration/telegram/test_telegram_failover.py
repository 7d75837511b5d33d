"""Alerts that find a person, through the real Telegram client and the Bot API stand-in (issue 12, part 5).

The treating practitioner has blocked the bot: Telegram answers 403, and the on-call practitioner must get the
alert in the SAME notifier pass (not ESCALATION_BACKUP_AFTER_MINUTES later). With nobody reachable at all, the
patient is told, exactly once, to call the clinic now."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from telegram import Bot
from telegram_helpers import CLINIC_PHONE, EMERGENCY

from bot.delivery.alerts import Notifier
from bot.escalation.policy import EscalationPolicy
from bot.store import db
from bot.store.models import AlertDelivery, Escalation
from bot.store.uow import UnitOfWork
from bot.telegram.messenger import TelegramMessenger
from bot.triage.model import Decision, Finding, Level
from bot.usecases import enrolment, reports
from devtools.telegram_standin import BotApiStandIn

TREATING_CHAT, ON_CALL_CHAT, PATIENT_CHAT = 4101, 4102, 4201
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
# The production defaults (10 and 20 minutes): passing within one pass proves the failover does not wait.
POLICY = EscalationPolicy(realert_after=dt.timedelta(minutes=10), backup_after=dt.timedelta(minutes=20))


@dataclass
class Setup:
    session_factory: object
    escalation_id: int
    notifier: Notifier


@pytest.fixture
async def setup(tmp_path, tg: BotApiStandIn):
    url = f"sqlite:///{tmp_path / 'failover.db'}"
    db.upgrade(url)
    factory = db.make_session_factory(url)
    uow = UnitOfWork(factory)
    treating = enrolment.add_practitioner(uow, "Dr Treating", "treating", TREATING_CHAT)
    enrolment.add_practitioner(uow, "Dr OnCall", "on_call", ON_CALL_CHAT)
    new = enrolment.add_patient_with_treatment(
        uow, "Ann Example", NOW - dt.timedelta(days=2), "face", "microneedling", treating.id, now=NOW
    )
    enrolment.redeem_link_code(uow, new.link_code, PATIENT_CHAT, now=NOW)
    finding = Finding(symptom="discharge", severity=("severe",), text="green pus")
    recorded = reports.record_report(
        uow,
        new.patient.id,
        new.treatment.id,
        "green pus from two holes",
        Decision(level=Level.URGENT, criteria=("infection",), findings=(finding,)),
        "rasa",
        now=NOW,
    )
    for chat in (TREATING_CHAT, ON_CALL_CHAT, PATIENT_CHAT):
        tg.open_chat(chat)
    async with Bot(tg.token, base_url=tg.base_url) as bot:
        notifier = Notifier(
            factory,
            TelegramMessenger(bot),
            POLICY,
            rng=random.Random(1),
            clinic_name="Glow Clinic",
            clinic_phone=CLINIC_PHONE,
            emergency_number=EMERGENCY,
        )
        yield Setup(factory, recorded.escalation.id, notifier)
    factory.kw["bind"].dispose()


def _texts(tg: BotApiStandIn, chat_id: int):
    return [call.text for call in tg.sent("sendMessage", chat_id=chat_id)]


async def test_treating_blocked_the_bot_on_call_gets_it_in_one_pass(tg: BotApiStandIn, setup: Setup) -> None:
    tg.block(TREATING_CHAT)
    stats = await setup.notifier.run_once(NOW + dt.timedelta(seconds=1))
    assert stats.failed == 1 and stats.sent == 1
    [alert] = _texts(tg, ON_CALL_CHAT)
    assert "could not be reached" in alert and "Ann Example" in alert
    assert _texts(tg, TREATING_CHAT) == [] and _texts(tg, PATIENT_CHAT) == []
    with UnitOfWork(setup.session_factory) as uow:
        failed = uow.session.execute(select(AlertDelivery).where(AlertDelivery.chat_id == TREATING_CHAT)).scalar_one()
    assert failed.status == "failed" and "blocked" in failed.last_error


async def test_nobody_reachable_patient_told_to_call_the_clinic_once(tg: BotApiStandIn, setup: Setup) -> None:
    tg.block(TREATING_CHAT)
    tg.block(ON_CALL_CHAT)
    await setup.notifier.run_once(NOW + dt.timedelta(seconds=1))
    for minutes in (5, 10, 20, 60):
        await setup.notifier.run_once(NOW + dt.timedelta(minutes=minutes))
    [notice] = _texts(tg, PATIENT_CHAT)
    assert "could not reach a practitioner" in notice and "Call the clinic now on " + CLINIC_PHONE in notice
    assert EMERGENCY in notice and "alerted" not in notice.lower()
    with UnitOfWork(setup.session_factory) as uow:
        assert uow.session.get(Escalation, setup.escalation_id).unreachable_at is not None
    # each dead chat was tried once, not again and again
    assert len(tg.attempts("sendMessage")) == 3


async def test_unknown_chat_counts_as_unreachable_too(tg: BotApiStandIn, setup: Setup) -> None:
    tg.strict_chats = True
    tg._chats.pop(TREATING_CHAT)  # the practitioner's chat id is wrong: "chat not found"
    await setup.notifier.run_once(NOW + dt.timedelta(seconds=1))
    assert len(_texts(tg, ON_CALL_CHAT)) == 1
