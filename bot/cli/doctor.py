"""`aftercare doctor`: is this installation able to answer patients and to alert a person? Checked end to end.

One line per check, `OK` or `FAIL`, and for a failure what to do about it:

    settings          the environment / .env loads
    database          the database answers
    migrations        the schema is at the newest migration
    rasa model        models/aftercare.tar.gz exists (`make train`)
    spacy pipeline    SPACY_MODEL_PATH exists (`make spacy`)
    practitioners     at least one active treating and one active on-call practitioner, with a chat id
    telegram api      (with TELEGRAM_BOT_TOKEN) getMe answers at TELEGRAM_API_BASE_URL
    practitioner N    (with TELEGRAM_BOT_TOKEN) each active practitioner's chat is reachable: getChat, then a
                      "typing…" chat action (Telegram only refuses a SEND to a chat whose user blocked the bot)

Practitioners are named by id and role, never by name. Nothing is written: the database is not migrated and no
message is sent. Exit code 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional, Sequence, Tuple

from bot.settings import PROJECT_ROOT, ConfigError, Settings
from bot.usecases.staffing import Staff, active_staff, alerting_problems

DEFAULT_MODEL = PROJECT_ROOT / "models" / "aftercare.tar.gz"
EXIT_OK, EXIT_FAILED = 0, 1


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'OK  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def register(subparsers: "argparse._SubParsersAction") -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check the configuration end to end (database, model, Telegram, practitioners)",
        description="Check the configuration end to end: one line per check, OK or FAIL with what to fix. "
        "Exit code 0 when all pass.",
    )
    parser.add_argument(
        "--model",
        type=Path,
        default=DEFAULT_MODEL,
        help=f"the trained Rasa model (default {DEFAULT_MODEL.relative_to(DEFAULT_MODEL.parents[1])})",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each Bot API call")
    parser.set_defaults(func=cmd_doctor)


def cmd_doctor(args: argparse.Namespace) -> int:
    checks = run_checks(model=args.model, timeout=args.timeout, report=lambda check: print(check.line(), flush=True))
    failed = [check for check in checks if not check.ok]
    print(
        f"{len(checks) - len(failed)} of {len(checks)} checks passed"
        + (f"; fix the {len(failed)} FAIL line(s) above." if failed else ".")
    )
    return EXIT_FAILED if failed else EXIT_OK


def run_checks(
    settings: Optional[Settings] = None,
    model: Path = DEFAULT_MODEL,
    timeout: float = 10.0,
    report: Callable[[Check], None] = lambda check: None,
) -> List[Check]:
    """Every check, in order; each one is passed to `report` as soon as it is known."""
    checks: List[Check] = []

    def add(check: Check) -> Check:
        checks.append(check)
        report(check)
        return check

    if settings is None:
        try:
            settings = Settings.from_env()
        except ConfigError as error:
            add(Check("settings", False, f"{error} (fix it in .env or the environment)"))
            return checks
    add(Check("settings", True, f"loaded (database {_safe_url(settings.database_url)})"))

    database = add(check_database(settings.database_url))
    staff: Optional[List[Staff]] = None
    if database.ok:
        add(check_migrations(settings.database_url))
        staff_check, staff = check_practitioners(settings.database_url)
        add(staff_check)
    add(check_file("rasa model", model, "run `make train` (or `make run`) to train it"))
    add(
        check_file(
            "spacy pipeline",
            settings.spacy_model_path,
            "run `make spacy` (or `make run`) to build it, or fix SPACY_MODEL_PATH",
        )
    )
    if settings.telegram_bot_token:
        for check in asyncio.run(check_telegram(settings, staff or [], timeout)):
            add(check)
    else:
        add(Check("telegram", True, "TELEGRAM_BOT_TOKEN not set: terminal chat only, Bot API not checked"))
    return checks


# The checks ------------------------------------------------------------------------------------------------------
def check_database(url: str) -> Check:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from bot.store import db

    try:
        if db.is_sqlite(url):
            path = make_url(url).database
            if path and path != ":memory:" and not Path(path).is_file():
                return Check(
                    "database",
                    False,
                    f"no database file at {path}: run `.venv/bin/aftercare db upgrade` (or fix DATABASE_URL)",
                )
        # A server that does not answer must give a FAIL line soon, not hang the check.
        engine = db.make_engine(url) if db.is_sqlite(url) else db.make_engine(url, connect_args={"connect_timeout": 10})
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except Exception as error:  # any driver's error: say which kind, never the URL's password
        return Check(
            "database", False, f"cannot connect ({type(error).__name__}): is the server up and DATABASE_URL right?"
        )
    return Check("database", True, "reachable")


def check_migrations(url: str) -> Check:
    from bot.store import db

    try:
        current, head = db.current_revision(url), db.head_revision()
    except Exception as error:
        return Check("migrations", False, f"cannot read the schema version ({type(error).__name__})")
    if current == head:
        return Check("migrations", True, f"at head ({head})")
    where = f"database at {current}" if current else "no migration applied to the database"
    return Check("migrations", False, f"{where}, code at {head}: run `.venv/bin/aftercare db upgrade`")


def check_practitioners(url: str) -> Tuple[Check, Optional[List[Staff]]]:
    from bot.store import db

    try:
        factory = db.make_session_factory(url)
        try:
            staff = active_staff(factory)
        finally:
            factory.kw["bind"].dispose()
    except Exception as error:
        return Check(
            "practitioners", False, f"cannot read them ({type(error).__name__}); run `.venv/bin/aftercare db upgrade`"
        ), None
    problems = alerting_problems(staff)
    if problems:
        return Check("practitioners", False, "; ".join(problems)), staff
    with_chat = [p for p in staff if p.chat_id is not None]
    return Check(
        "practitioners",
        True,
        f"{len(with_chat)} active with a chat id (" + ", ".join(f"#{p.id} {p.role}" for p in with_chat) + ")",
    ), staff


def check_file(name: str, path: Path, fix: str) -> Check:
    path = Path(path)
    if path.exists():
        return Check(name, True, str(path))
    return Check(name, False, f"missing: {path}; {fix}")


async def check_telegram(settings: Settings, staff: Sequence[Staff], timeout: float) -> List[Check]:
    from telegram import Bot
    from telegram import error as tg
    from telegram.constants import ChatAction
    from telegram.request import HTTPXRequest

    try:
        settings.require_telegram()
    except ConfigError as error:
        return [Check("telegram api", False, str(error))]
    request = HTTPXRequest(connect_timeout=timeout, read_timeout=timeout, write_timeout=timeout)
    bot = Bot(settings.telegram_bot_token, base_url=settings.telegram_api_base_url, request=request)
    where = _safe_base(settings.telegram_api_base_url)
    try:
        await bot.initialize()  # getMe
    except tg.InvalidToken:
        return [
            Check("telegram api", False, f"{where} refused the token: ask @BotFather for the right TELEGRAM_BOT_TOKEN")
        ]
    except Exception as error:
        return [
            Check(
                "telegram api",
                False,
                f"getMe at {where} failed ({type(error).__name__}: {error}); check "
                "the network and TELEGRAM_API_BASE_URL",
            )
        ]
    checks = [Check("telegram api", True, f"getMe answered at {where}: @{bot.username}")]
    try:
        for person in staff:
            label = f"practitioner #{person.id} ({person.role})"
            if person.chat_id is None:
                checks.append(
                    Check(
                        label,
                        False,
                        "no chat id: they get no alerts; set it with `.venv/bin/aftercare "
                        f"practitioner update {person.id} --chat-id ...`",
                    )
                )
                continue
            try:
                # The raw answer: what a chat looks like changes with each Bot API version; reaching it is the point.
                await bot.do_api_request("getChat", api_kwargs={"chat_id": person.chat_id})
                await bot.send_chat_action(person.chat_id, ChatAction.TYPING)
            except (tg.Forbidden, tg.BadRequest) as error:
                checks.append(
                    Check(
                        label,
                        False,
                        f"chat {person.chat_id} unreachable ({error}): they must open the "
                        "bot in Telegram and press Start (unblock it), or fix their chat id with "
                        f"`.venv/bin/aftercare practitioner update {person.id} --chat-id ...`",
                    )
                )
                continue
            except Exception as error:  # network trouble, an odd answer: a FAIL line, never a traceback
                checks.append(
                    Check(
                        label,
                        False,
                        f"could not check chat {person.chat_id} ({type(error).__name__}: {error}); try again",
                    )
                )
                continue
            checks.append(Check(label, True, f"chat {person.chat_id} reachable"))
    finally:
        try:
            await bot.shutdown()
        except Exception:  # closing the HTTP client must not turn a result into a traceback
            pass
    return checks


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(unparseable DATABASE_URL)"


def _safe_base(base_url: str) -> str:
    """The Bot API base without anything token-like (PTB's base_url ends with .../bot)."""
    return base_url.rstrip("/")
