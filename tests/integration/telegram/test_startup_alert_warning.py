"""The gateway warns at start when an alert could reach nobody (issue 12, part 5): a WARNING in the log and a
line in the terminal. The real composition (bot.bootstrap.gateway.gateway_deps over a temporary SQLite database) and the
Bot API stand-in; `_on_startup` is what python-telegram-bot's post_init runs."""

from __future__ import annotations

from typing import Sequence, Tuple

import pytest
from telegram_helpers import TOKEN

from bot.bootstrap import clinic_service
from bot.bootstrap.gateway import gateway_deps
from bot.settings import Settings
from bot.store import db
from bot.store.uow import UnitOfWork
from bot.telegram.app import _on_startup, build_application
from bot.usecases import enrolment
from devtools.telegram_standin import BotApiStandIn


async def _start(tmp_path, tg: BotApiStandIn, staff: Sequence[Tuple[str, str, object]]) -> None:
    url = f"sqlite:///{tmp_path / 'startup.db'}"
    db.upgrade(url)
    factory = db.make_session_factory(url)
    for name, role, chat in staff:
        enrolment.add_practitioner(UnitOfWork(factory), name, role, chat)
    factory.kw["bind"].dispose()
    settings = Settings.from_env(
        env={"DATABASE_URL": url, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": tg.base_url}
    )
    app = build_application(settings, gateway_deps(settings, clinic_service(settings), run_notifier=False))
    await app.initialize()
    try:
        await _on_startup(app)
    finally:
        await app.shutdown()


def _warnings(caplog) -> list:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and r.name == "bot.telegram.app"]


async def test_no_practitioner_with_a_chat_warns(tmp_path, tg: BotApiStandIn, caplog, capsys) -> None:
    await _start(tmp_path, tg, [("Dr Lee", "treating", None)])
    [warning] = _warnings(caplog)
    assert "NOBODY can be alerted" in warning and "practitioner add" in warning
    assert "WARNING: no active practitioner has a Telegram chat id" in capsys.readouterr().err


async def test_no_on_call_or_backup_warns(tmp_path, tg: BotApiStandIn, caplog, capsys) -> None:
    await _start(tmp_path, tg, [("Dr Lee", "treating", 7001)])
    [warning] = _warnings(caplog)
    assert "no active on-call or backup practitioner" in warning
    assert "WARNING: no active on-call or backup" in capsys.readouterr().err


@pytest.mark.parametrize("second_role", ["on_call", "backup"])
async def test_someone_to_stand_in_is_quiet(tmp_path, tg: BotApiStandIn, caplog, capsys, second_role) -> None:
    await _start(tmp_path, tg, [("Dr Lee", "treating", 7001), ("Dr Shah", second_role, 7002)])
    assert _warnings(caplog) == []
    assert "WARNING" not in capsys.readouterr().err
