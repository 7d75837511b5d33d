"""Chaos, continued (issue 12, part 2): Rasa killed, the SQLite database locked, the PostgreSQL connection cut.
Every part is real, as in test_chaos_action_server.py (whose helpers these tests reuse): Rasa with the trained model,
the action server, the gateway with its notifier, the database, the Bot API stand-in. In each, a patient sends a
red flag during the fault and must get an answer, exactly one alert must reach the practitioner's chat within a
stated bound after the fault ends, and the report must be in the store, once, with the patient's words.

"Kill the notifier mid-send" is covered by tests/integration/store/test_store_notifier.py::
test_fault_notifier_process_killed_and_restarted (a notifier process SIGKILLed after a send it had not recorded;
the restarted one delivers everything, the duplicate with the same reference), so it is not repeated here.

Bounds (stated, asserted): the answer within ANSWER_BOUND_S of the patient's message (for the lock, the answer may
wait for the lock: LOCK_S + ANSWER_BOUND_S), the alert within ALERT_BOUND_S of the fault's end (for the killed
Rasa, which stays down: of the message), and no second alert in the QUIET_S that follow.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import threading
import time
from typing import Callable, Optional

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from bot.store import db, repository
from bot.store.models import SymptomReport
from bot.store.uow import UnitOfWork
from devtools.telegram_standin import BotApiStandIn
from tests.e2e.conftest import Servers
from tests.e2e.test_chaos_action_server import QUIET_S, _on_record
from tests.e2e.test_telegram_full_loop import TOKEN, registered, start_gateway, stop_gateway  # noqa: F401
from tests.integration.conftest import postgresql_session_url  # noqa: F401  (throw-away database, dropped after)
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]

RED_FLAG = "there is green pus coming out of the needle holes and it's spreading"
ANSWER_BOUND_S = 20.0
ALERT_BOUND_S = 25.0
LOCK_S = 8.0
CUT_S = 5.0


def _texts(database_url: str, chat_id: int):
    factory = db.make_session_factory(database_url)
    try:
        with UnitOfWork(factory) as uow:
            patient = repository.patient_for_chat(uow, chat_id)
            return (
                uow.session.execute(select(SymptomReport.text).where(SymptomReport.patient_id == patient.id))
                .scalars()
                .all()
            )
    finally:
        factory.kw["bind"].dispose()


async def _red_flag_under_fault(
    servers,
    registered,  # noqa: F811  (the fixture imported above)
    chat: int,
    label: str,
    begin: Callable[[], None],
    end: Optional[Callable[[], None]],
    fault_s: float,
    answer_bound: float,
):
    """Link the patient, start the fault, send the red flag, end the fault `fault_s` seconds after the message
    (in a thread, so a blocked event loop cannot delay it; `end=None`: the fault lasts), then measure."""
    code, doctor_chat = registered
    async with BotApiStandIn(token=TOKEN) as tg:
        tg.open_chat(chat, "Ann")
        tg.open_chat(doctor_chat, "Lee")
        app = await start_gateway(servers, tg)
        ender = None
        try:
            tg.inject_start(chat, code)
            await tg.wait_for_sent(lambda c: "linked" in c.text, method="sendMessage", chat_id=chat, timeout=20)
            begin()
            mark = tg.mark()
            sent = time.perf_counter()
            ended = {"at": sent}
            if end is not None:

                def finish():
                    time.sleep(fault_s)
                    end()
                    ended["at"] = time.perf_counter()

                ender = threading.Thread(target=finish, daemon=True)
            tg.inject_text(chat, RED_FLAG)
            if ender is not None:
                ender.start()
            answer = await tg.wait_for_sent(method="sendMessage", chat_id=chat, since=mark, timeout=answer_bound + 10)
            alert = await tg.wait_for_sent(
                method="sendMessage", chat_id=doctor_chat, since=mark, timeout=fault_s + ALERT_BOUND_S + 10
            )
            if ender is not None:
                ender.join(timeout=fault_s + 5)
            await asyncio.sleep(QUIET_S)
            answers = [c.text for c in tg.sent("sendMessage", chat_id=chat) if c.ok and c.at >= sent]
            alerts = [c for c in tg.sent("sendMessage", chat_id=doctor_chat) if c.ok and c.at >= sent]
        finally:
            if ender is not None and ender.is_alive():
                ender.join(timeout=fault_s + 5)
            await stop_gateway(app)
    reports, escalations, rows = _on_record(servers.database_url, chat)
    words = _texts(servers.database_url, chat)
    answer_s, alert_s = answer.at - sent, alert.at - ended["at"]
    print(
        f"\n{label}: first answer {answer_s:.2f}s after the message ({len(answers)} replies); fault ended "
        f"{ended['at'] - sent:.2f}s after it; alert {alert_s:.2f}s after the fault ended "
        f"({alert.at - sent:.2f}s after the message); {len(alerts)} alert(s) in the practitioner's chat in the "
        f"{QUIET_S:.0f}s after; reports {reports}; {escalations} escalation(s); outbox rows {rows}; "
        f"replies {[t[:60] for t in answers]}"
    )
    assert answer_s <= answer_bound and alert_s <= ALERT_BOUND_S, (answer_s, alert_s)
    assert len(alerts) == 1, [c.text for c in alerts]
    assert "Ann Example" in alert.text and "URGENT" in alert.text.upper()
    assert words.count(RED_FLAG) == 1 and len(reports) == 1 and reports[0][1] in ("urgent", "emergency"), (
        words,
        reports,
    )
    assert escalations == 1 and rows == [("initial", "sent")], (escalations, rows)


async def test_sqlite_locked_a_red_flag_is_answered_and_alerted_once(servers, registered):  # noqa: F811
    """Another connection holds BEGIN EXCLUSIVE for LOCK_S seconds while the red flag comes in."""
    path = make_url(servers.database_url).database
    holder = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)

    def begin():
        holder.execute("BEGIN EXCLUSIVE")

    def end():
        holder.execute("COMMIT")

    try:
        await _red_flag_under_fault(
            servers, registered, 4545, f"SQLite locked for {LOCK_S:.0f}s", begin, end, LOCK_S, LOCK_S + ANSWER_BOUND_S
        )
    finally:
        if holder.in_transaction:
            holder.execute("ROLLBACK")
        holder.close()


@pytest.mark.postgres
class TestPostgresCut:
    """The clinic's database on PostgreSQL, reached by Rasa's action server, the gateway and the notifier through a
    TCP proxy the test cuts for CUT_S seconds while the red flag comes in (the system service stays up)."""

    @pytest.fixture(scope="class")
    def proxy(self, postgresql_session_url):  # noqa: F811
        url = make_url(postgresql_session_url)
        with TcpProxy((url.host or "127.0.0.1", url.port or 5432)) as running:
            yield running, str(url.set(host="127.0.0.1", port=running.port))

    @pytest.fixture(scope="class")
    def servers(self, proxy, tmp_path_factory):
        from tests.e2e.conftest import MODEL

        if not MODEL.exists():
            pytest.fail("no trained model: `make test` trains it before running the tests")
        running = Servers(tmp_path_factory.mktemp("e2e-pg"), proxy[1])
        try:
            running.start()
            yield running
        finally:
            running.stop_all()

    async def test_postgres_cut_a_red_flag_is_answered_and_alerted_once(self, proxy, servers, registered):  # noqa: F811
        tcp = proxy[0]
        await _red_flag_under_fault(
            servers,
            registered,
            4646,
            f"PostgreSQL connection cut for {CUT_S:.0f}s",
            tcp.cut,
            tcp.restore,
            CUT_S,
            ANSWER_BOUND_S,
        )
        print(f"connections refused while cut: {tcp.refused}")


async def test_rasa_killed_a_red_flag_is_answered_and_alerted_once(servers, registered):  # noqa: F811
    """Rasa SIGKILLed (it stays down until the test ends; then restarted for the tests that follow)."""
    rasa = servers.processes["rasa"]

    def begin():
        os.killpg(rasa.pid, signal.SIGKILL)
        rasa.process.wait(timeout=10)

    try:
        await _red_flag_under_fault(servers, registered, 4747, "Rasa SIGKILLed", begin, None, 0.0, ANSWER_BOUND_S)
    finally:
        servers.start_rasa()
