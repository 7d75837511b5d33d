"""Who may sign in to the clinic's web console (bot.web), and their signed-in sessions.

Passwords are kept only as argon2 hashes (argon2-cffi; rehashed on sign-in when the parameters change). A
session's cookie holds a random token (secrets.token_urlsafe(32)); the database keeps only its SHA-256, so a copy
of the database signs nobody in. Each session has its own CSRF token for the console's forms. Nothing here logs a
password, a token or a name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import List, Optional, Tuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bot.store import errors, repository
from bot.store.models import CONSOLE_ROLES, ConsoleAccount, utcnow
from bot.store.uow import UnitOfWork
from bot.usecases import checks, use_case

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
DEFAULT_SESSION_HOURS = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

_hasher = PasswordHasher()
_dummy_hash: Optional[str] = None


@dataclass(frozen=True)
class ConsoleUser:
    """An account as the console and the CLI see it (never the hash)."""

    id: int
    username: str
    role: str
    practitioner_id: Optional[int]
    active: bool


@dataclass(frozen=True)
class SignedIn:
    """The account behind a live session, and the session's CSRF token."""

    id: int
    username: str
    role: str
    practitioner_id: Optional[int]
    csrf_token: str
    expires_at: dt.datetime


def _user(row: ConsoleAccount) -> ConsoleUser:
    return ConsoleUser(row.id, row.username, row.role, row.practitioner_id, bool(row.active))


def normalise_username(username: Optional[str]) -> str:
    return (username or "").strip().lower()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_password(password: Optional[str]) -> str:
    password = password or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise errors.InvalidValue(f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise errors.InvalidValue(f"The password must be at most {MAX_PASSWORD_LENGTH} characters long.")
    return password


def _check_username(username: Optional[str]) -> str:
    name = normalise_username(username)
    if not _USERNAME.match(name):
        raise errors.InvalidValue(
            "The username must be 2 to 64 characters: letters, digits, dot, dash or underscore, starting with a "
            "letter or digit."
        )
    return name


def _add_account(
    uow: UnitOfWork,
    username: str,
    password: str,
    role: str,
    practitioner_id: Optional[int] = None,
    actor: str = "cli",
    now: Optional[dt.datetime] = None,
) -> ConsoleUser:
    now = now or utcnow()
    name = _check_username(username)
    checks.choice(role, CONSOLE_ROLES, "role")
    check_password(password)
    if practitioner_id is not None:
        repository.get_practitioner(uow, practitioner_id)
    if repository.console_account_by_username(uow, name) is not None:
        raise errors.InvalidValue(f"There is already a console account named {name!r}.")
    row = repository.add_console_account(uow, name, _hasher.hash(password), role, practitioner_id, now)
    repository.audit(
        uow, "console_account", row.id, "created", actor, {"role": role, "practitioner_id": practitioner_id}, now
    )
    return _user(row)


def _set_password(
    uow: UnitOfWork, username: str, password: str, actor: str = "cli", now: Optional[dt.datetime] = None
) -> ConsoleUser:
    """A new password; every session of the account ends (signed-in browsers must sign in again)."""
    now = now or utcnow()
    check_password(password)
    row = repository.console_account_by_username(uow, normalise_username(username))
    if row is None:
        raise errors.InvalidValue(f"There is no console account named {normalise_username(username)!r}.")
    row.password_hash = _hasher.hash(password)
    row.password_changed_at = now
    repository.delete_console_sessions(uow, account_id=row.id)
    repository.audit(uow, "console_account", row.id, "password_changed", actor, now=now)
    return _user(row)


def _set_active(
    uow: UnitOfWork, username: str, active: bool, actor: str = "cli", now: Optional[dt.datetime] = None
) -> ConsoleUser:
    """Disable an account (someone who left: signed out at once and kept out) or enable it again."""
    now = now or utcnow()
    row = repository.console_account_by_username(uow, normalise_username(username))
    if row is None:
        raise errors.InvalidValue(f"There is no console account named {normalise_username(username)!r}.")
    if bool(row.active) != active:
        row.active = active
        repository.audit(uow, "console_account", row.id, "enabled" if active else "disabled", actor, now=now)
    if not active:
        repository.delete_console_sessions(uow, account_id=row.id)
    return _user(row)


def _list_accounts(uow: UnitOfWork) -> List[ConsoleUser]:
    return [_user(row) for row in repository.list_console_accounts(uow)]


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _authenticate(
    uow: UnitOfWork, username: str, password: str, now: Optional[dt.datetime] = None
) -> Optional[ConsoleUser]:
    """The account if the password is right and the account active, else None. An unknown username costs the
    same work as a known one (a hash is verified either way), so timing does not tell which usernames exist."""
    global _dummy_hash
    password = password or ""
    row = repository.console_account_by_username(uow, normalise_username(username))
    if row is None or len(password) > MAX_PASSWORD_LENGTH:
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
        _verify(_dummy_hash, password[:MAX_PASSWORD_LENGTH])
        return None
    if not _verify(row.password_hash, password) or not row.active:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
    return _user(row)


def _open_session(
    uow: UnitOfWork, account_id: int, now: Optional[dt.datetime] = None, hours: int = DEFAULT_SESSION_HOURS
) -> Tuple[str, str]:
    """A new session for the account: (the cookie's token, the session's CSRF token). Expired sessions go."""
    now = now or utcnow()
    account = repository.get_console_account(uow, account_id)
    if account is None or not account.active:
        raise errors.InvalidValue("This console account cannot sign in.")
    repository.delete_console_sessions(uow, expired_by=now)
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    repository.add_console_session(uow, account_id, token_hash(token), csrf, now, now + dt.timedelta(hours=hours))
    repository.audit(uow, "console_account", account_id, "signed_in", f"console:{account.username}", now=now)
    return token, csrf


def _session_account(
    uow: UnitOfWork,
    token: Optional[str],
    now: Optional[dt.datetime] = None,
    hours: int = DEFAULT_SESSION_HOURS,
    renew: bool = True,
) -> Optional[SignedIn]:
    """The account signed in with this token, or None (unknown, expired, or the account deactivated).
    Sliding expiry: each use moves the end to `hours` from now (written at most once a minute); renew=False for
    requests no person made (the queue's automatic refresh), so a screen left open still signs out."""
    if not token or len(token) > 256:
        return None
    now = now or utcnow()
    found = repository.console_session_for_token(uow, token_hash(token))
    if found is None:
        return None
    session, account = found
    if session.expires_at <= now or not account.active:
        repository.delete_rows(uow, [session])
        return None
    if renew and now - session.last_seen_at >= dt.timedelta(minutes=1):
        session.last_seen_at = now
        session.expires_at = now + dt.timedelta(hours=hours)
    return SignedIn(
        account.id, account.username, account.role, account.practitioner_id, session.csrf_token, session.expires_at
    )


def _close_session(uow: UnitOfWork, token: Optional[str], now: Optional[dt.datetime] = None) -> bool:
    """Sign out: the session is deleted. True when there was one."""
    if not token or len(token) > 256:
        return False
    found = repository.console_session_for_token(uow, token_hash(token))
    if found is None:
        return False
    session, account = found
    repository.delete_rows(uow, [session])
    repository.audit(uow, "console_account", account.id, "signed_out", f"console:{account.username}", now=now)
    return True


add_account = use_case(_add_account)
set_password = use_case(_set_password)
set_active = use_case(_set_active)
list_accounts = use_case(_list_accounts)
authenticate = use_case(_authenticate)
open_session = use_case(_open_session)
session_account = use_case(_session_account)
close_session = use_case(_close_session)
