"""`aftercare doctor` as a user runs it (a subprocess of .venv/bin/aftercare), against a temporary SQLite
database and the Bot API stand-in: a healthy setup passes; a blocked or unknown practitioner chat, no
practitioners, a missing model, an old schema or a wrong token each fail with a clear line and exit code 1."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Dict, Optional, Tuple

from bot.store import db
from bot.store.uow import UnitOfWork
from bot.usecases import enrolment
from devtools.telegram_standin import BotApiStandIn

REPO = Path(__file__).resolve().parents[3]
AFTERCARE = Path(sys.executable).parent / "aftercare"
TREATING_CHAT, ON_CALL_CHAT = 5101, 5102


def _db(
    tmp_path: Path, practitioners=(("Dr Lee", TREATING_CHAT, "treating"), ("Dr Shah", ON_CALL_CHAT, "on_call"))
) -> str:
    url = f"sqlite:///{tmp_path / 'doctor.db'}"
    db.upgrade(url)
    factory = db.make_session_factory(url)
    for name, chat, role in practitioners:
        enrolment.add_practitioner(UnitOfWork(factory), name, role, chat)
    factory.kw["bind"].dispose()
    return url


async def doctor(
    tmp_path: Path, url: str, tg: Optional[BotApiStandIn], *args: str, **env_overrides: str
) -> Tuple[int, str]:
    env: Dict[str, str] = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "SPACY_", "AFTERCARE_"))
    }
    env.update(DATABASE_URL=url, AFTERCARE_DATA_DIR=str(tmp_path), TELEGRAM_BOT_TOKEN=tg.token if tg else "")
    if tg is not None:
        env["TELEGRAM_API_BASE_URL"] = tg.base_url
    env.update(env_overrides)
    process = await asyncio.create_subprocess_exec(
        str(AFTERCARE),
        "doctor",
        "--timeout",
        "5",
        *args,
        cwd=str(tmp_path),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, out.decode()


def fails(output: str) -> list:
    return [line for line in output.splitlines() if line.startswith("FAIL")]


async def test_healthy_setup_passes(tmp_path: Path, tg: BotApiStandIn) -> None:
    tg.open_chat(TREATING_CHAT)
    tg.open_chat(ON_CALL_CHAT)
    code, out = await doctor(tmp_path, _db(tmp_path), tg)
    assert code == 0, out
    assert fails(out) == []
    for name in (
        "settings",
        "database",
        "migrations",
        "rasa model",
        "spacy pipeline",
        "practitioners",
        "telegram api",
        "practitioner #1 (treating)",
        "practitioner #2 (on_call)",
    ):
        assert any(line.startswith("OK") and f"  {name}:" in line for line in out.splitlines()), (name, out)
    assert tg.attempts("getChat") and "Dr Lee" not in out  # named by id and role only


async def test_blocked_and_unknown_practitioner_chats_fail(tmp_path: Path, tg: BotApiStandIn) -> None:
    tg.open_chat(TREATING_CHAT)
    tg.block(TREATING_CHAT)  # ON_CALL_CHAT never talked to the bot: "chat not found"
    code, out = await doctor(tmp_path, _db(tmp_path), tg)
    assert code == 1
    lines = fails(out)
    assert len(lines) == 2, out
    assert "practitioner #1 (treating)" in lines[0] and "blocked" in lines[0] and "press Start" in lines[0]
    assert "practitioner #2 (on_call)" in lines[1] and "chat not found" in lines[1].lower()
    assert "Dr Lee" not in out and "Dr Shah" not in out


async def test_no_practitioners_fails(tmp_path: Path, tg: BotApiStandIn) -> None:
    code, out = await doctor(tmp_path, _db(tmp_path, practitioners=()), tg)
    assert code == 1
    [line] = fails(out)
    assert "practitioners:" in line and "nobody can be alerted" in line and "practitioner add" in line


async def test_no_on_call_practitioner_fails(tmp_path: Path) -> None:
    code, out = await doctor(tmp_path, _db(tmp_path, practitioners=(("Dr Lee", TREATING_CHAT, "treating"),)), None)
    assert code == 1
    [line] = fails(out)
    assert "no active on_call practitioner" in line


async def test_missing_model_and_pipeline_fail(tmp_path: Path) -> None:
    code, out = await doctor(
        tmp_path,
        _db(tmp_path),
        None,
        "--model",
        str(tmp_path / "nope.tar.gz"),
        SPACY_MODEL_PATH=str(tmp_path / "no-pipeline"),
    )
    assert code == 1
    lines = fails(out)
    assert [line.split(":")[0] for line in lines] == ["FAIL  rasa model", "FAIL  spacy pipeline"]
    assert "make train" in lines[0] and "make spacy" in lines[1]


async def test_missing_database_and_old_schema_fail(tmp_path: Path) -> None:
    code, out = await doctor(tmp_path, f"sqlite:///{tmp_path / 'absent.db'}", None)
    assert code == 1 and "db upgrade" in fails(out)[0]
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db.upgrade(url, "0004")
    code, out = await doctor(tmp_path, url, None)
    assert code == 1
    assert any(line.startswith("FAIL  migrations") and "db upgrade" in line for line in fails(out)), out


async def test_unreachable_bot_api_fails(tmp_path: Path) -> None:
    code, out = await doctor(
        tmp_path,
        _db(tmp_path),
        None,
        TELEGRAM_BOT_TOKEN="123456:nobody-listens",
        TELEGRAM_API_BASE_URL="http://127.0.0.1:9/bot",
    )
    assert code == 1
    [line] = fails(out)
    assert line.startswith("FAIL  telegram api") and "TELEGRAM_API_BASE_URL" in line and "nobody-listens" not in out
