"""The web console's accounts and sign-in (bot.usecases.console_accounts, bot.web.auth), on both backends.

Use cases: argon2 hashes only, the password rules, sign-in, sessions stored as a SHA-256 of the cookie's token,
sliding expiry, sign-out, a new password ending the sessions. The app (Starlette's TestClient): the sign-in page,
wrong passwords, the rate limit (429), the cookie's flags, `next` only to a local path, CSRF refusals, a role's
403 page without data, an expired session sent back to /login, the security headers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import List

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.settings import Settings
from bot.store import errors
from bot.store.models import AuditEvent, ConsoleAccount, ConsoleSession
from bot.store.uow import UnitOfWork
from bot.usecases import console_accounts, enrolment
from bot.web import auth
from bot.web.app import build_app

NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.timezone.utc)
PASSWORD = "correct horse battery staple"
SECRET_NAME = "Jane Secretpatient"


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch):
    """Cheap argon2 parameters for these tests (the real ones cost ~0.1 s a hash); see test_production_hashes."""
    monkeypatch.setattr(console_accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(console_accounts, "_dummy_hash", None)


def _rows(session_factory, model) -> List:
    with UnitOfWork(session_factory) as uow:
        return list(uow.session.execute(select(model)).scalars())


@pytest.fixture
def accounts(session_factory):
    uow = UnitOfWork(session_factory)
    doctor = enrolment.add_practitioner(uow, "Dr Treating", "treating", 1001)
    enrolment.add_patient(uow, SECRET_NAME)
    return {
        "admin": console_accounts.add_account(uow, "Admin", PASSWORD, "admin", actor="test"),
        "lee": console_accounts.add_account(uow, "lee", PASSWORD, "clinician", doctor.id, actor="test"),
        "desk": console_accounts.add_account(uow, "desk", PASSWORD, "desk", actor="test"),
    }


# The use cases -----------------------------------------------------------------------------------------------------
def test_accounts_keep_only_an_argon2_hash_and_check_their_input(session_factory, accounts) -> None:
    rows = {row.username: row for row in _rows(session_factory, ConsoleAccount)}
    assert set(rows) == {"admin", "lee", "desk"}  # usernames are kept in lower case
    for row in rows.values():
        assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
    assert rows["lee"].practitioner_id is not None and rows["lee"].role == "clinician"
    assert [a.username for a in console_accounts.list_accounts(UnitOfWork(session_factory))] == ["admin", "desk", "lee"]

    uow = UnitOfWork(session_factory)
    with pytest.raises(errors.InvalidValue, match="at least 12 characters"):
        console_accounts.add_account(uow, "shorty", "eleven char", "desk")
    with pytest.raises(errors.InvalidValue, match="role must be one of admin, clinician, desk"):
        console_accounts.add_account(uow, "bob", PASSWORD, "root")
    with pytest.raises(errors.InvalidValue, match="already a console account named 'lee'"):
        console_accounts.add_account(uow, "LEE", PASSWORD, "desk")
    with pytest.raises(errors.InvalidValue, match="username"):
        console_accounts.add_account(uow, "a b", PASSWORD, "desk")
    with pytest.raises(errors.UnknownPractitioner):
        console_accounts.add_account(uow, "bob", PASSWORD, "clinician", practitioner_id=999)
    assert len(_rows(session_factory, ConsoleAccount)) == 3
    audits = [e for e in _rows(session_factory, AuditEvent) if e.entity == "console_account"]
    assert [e.action for e in audits] == ["created"] * 3 and all(PASSWORD not in str(e.detail) for e in audits)


def test_production_hashes_are_argon2id_and_old_ones_are_rehashed(session_factory, accounts, monkeypatch) -> None:
    real = PasswordHasher()
    assert real.time_cost >= 2 and real.memory_cost >= 19 * 1024  # at least OWASP's argon2id minimum
    monkeypatch.setattr(console_accounts, "_hasher", real)
    (before,) = [row.password_hash for row in _rows(session_factory, ConsoleAccount) if row.username == "lee"]
    assert console_accounts.authenticate(UnitOfWork(session_factory), "lee", PASSWORD) is not None
    (after,) = [row.password_hash for row in _rows(session_factory, ConsoleAccount) if row.username == "lee"]
    assert after != before and after.startswith(f"$argon2id$v=19$m={real.memory_cost},t={real.time_cost},")
    assert not real.check_needs_rehash(after)


def test_authenticate_and_sessions(session_factory, accounts) -> None:
    uow = UnitOfWork(session_factory)
    assert console_accounts.authenticate(uow, " LEE ", PASSWORD).username == "lee"
    assert console_accounts.authenticate(uow, "lee", PASSWORD + "x") is None
    assert console_accounts.authenticate(uow, "nobody", PASSWORD) is None
    assert console_accounts.authenticate(uow, "lee", "") is None

    lee = accounts["lee"]
    token, csrf = console_accounts.open_session(uow, lee.id, NOW, 12)
    assert len(token) >= 43 and len(csrf) >= 43 and token != csrf
    (row,) = _rows(session_factory, ConsoleSession)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in row.token_hash
    assert row.expires_at == NOW + dt.timedelta(hours=12)

    signed_in = console_accounts.session_account(uow, token, NOW + dt.timedelta(hours=11), 12)
    assert (signed_in.username, signed_in.role, signed_in.practitioner_id, signed_in.csrf_token) == (
        "lee",
        "clinician",
        lee.practitioner_id,
        csrf,
    )
    # sliding: used at 11 h, it now ends 12 h after that
    assert signed_in.expires_at == NOW + dt.timedelta(hours=23)
    assert console_accounts.session_account(uow, token, NOW + dt.timedelta(hours=22, minutes=59), 12) is not None
    assert console_accounts.session_account(uow, token + "x", NOW, 12) is None
    assert console_accounts.session_account(uow, None, NOW, 12) is None
    # unused for 12 hours: gone
    assert console_accounts.session_account(uow, token, NOW + dt.timedelta(hours=36), 12) is None
    assert _rows(session_factory, ConsoleSession) == []

    token, _ = console_accounts.open_session(uow, lee.id, NOW, 12)
    assert console_accounts.close_session(uow, token) is True
    assert console_accounts.session_account(uow, token, NOW, 12) is None
    assert console_accounts.close_session(uow, token) is False


def test_a_new_password_ends_the_accounts_sessions(session_factory, accounts) -> None:
    uow = UnitOfWork(session_factory)
    token, _ = console_accounts.open_session(uow, accounts["desk"].id, NOW, 12)
    other, _ = console_accounts.open_session(uow, accounts["lee"].id, NOW, 12)
    with pytest.raises(errors.InvalidValue, match="at least 12"):
        console_accounts.set_password(uow, "desk", "short", actor="test")
    with pytest.raises(errors.InvalidValue, match="no console account named 'ghost'"):
        console_accounts.set_password(uow, "ghost", PASSWORD, actor="test")
    console_accounts.set_password(uow, "DESK", "a brand new passphrase", actor="test")
    assert console_accounts.session_account(uow, token, NOW, 12) is None
    assert console_accounts.session_account(uow, other, NOW, 12) is not None
    assert console_accounts.authenticate(uow, "desk", PASSWORD) is None
    assert console_accounts.authenticate(uow, "desk", "a brand new passphrase").role == "desk"


# The app -------------------------------------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


async def _clinicians_only(request: Request) -> PlainTextResponse:
    account = await auth.require(request, "clinician")
    return PlainTextResponse(f"hello {account.username}")


async def _token(request: Request) -> HTMLResponse:
    await auth.require(request)
    return HTMLResponse(f"<form>{auth.csrf_field(request)}</form>")


async def _post_form(request: Request) -> PlainTextResponse:
    form = await auth.form_with_csrf(request)
    return PlainTextResponse(f"got {form.get('value')}")


def _app(session_factory, **env: str):
    settings = Settings.from_env(env={"DATABASE_URL": "sqlite://", **env})
    clock = Clock()
    app = build_app(settings, session_factory, clock=clock)
    app.router.routes.append(Route("/test/clinicians", _clinicians_only))
    app.router.routes.append(Route("/test/form", _post_form, methods=["POST"]))
    app.router.routes.append(Route("/test/token", _token))
    return app, clock


@pytest.fixture
def web(session_factory, accounts):
    app, clock = _app(session_factory)
    client = TestClient(app, base_url="http://testserver", follow_redirects=False)
    client.clock = clock
    return client


def _sign_in(client: TestClient, username: str, password: str = PASSWORD, **extra: str):
    return client.post("/login", data={"username": username, "password": password, **extra})


def _csrf(client: TestClient) -> str:
    match = re.search(r'<input type="hidden" name="csrf_token" value="([^"]+)">', client.get("/test/token").text)
    assert match
    return match.group(1)


def test_signed_out_visitors_go_to_the_sign_in_page(web) -> None:
    assert web.get("/").headers["location"] == "/login"
    assert web.get("/test/clinicians").headers["location"] == "/login?next=/test/clinicians"
    page = web.get("/login")
    assert page.status_code == 200
    assert '<label for="username">Username</label>' in page.text
    assert '<label for="password">Password</label>' in page.text
    assert ">Sign in</button>" in page.text
    assert '<html lang="en">' in page.text and 'name="viewport"' in page.text


def test_sign_in_sets_a_strict_http_only_cookie_and_goes_home_by_role(web) -> None:
    wrong = _sign_in(web, "lee", "not the password at all")
    assert wrong.status_code == 400 and "Wrong username or password." in wrong.text
    assert "aftercare_console" not in wrong.headers.get("set-cookie", "")
    unknown = _sign_in(web, "ghost")
    assert "Wrong username or password." in unknown.text  # the same answer for an unknown username

    answer = _sign_in(web, "LEE")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("aftercare_console=")
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= flags and "secure" not in flags
    assert web.get("/").headers["location"] == "/queue"
    assert web.get("/test/clinicians").text == "hello lee"
    assert web.get("/login").headers["location"] == "/"  # already signed in

    desk = TestClient(web.app, follow_redirects=False)
    _sign_in(desk, "desk")
    assert desk.get("/").headers["location"] == "/patients/new"


def test_secure_cookies_when_configured(session_factory, accounts) -> None:
    app, _ = _app(session_factory, CONSOLE_SECURE_COOKIES="true")
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    cookie = _sign_in(client, "lee").headers["set-cookie"]
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/test/clinicians?x=1", "/test/clinicians?x=1"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
    ],
)
def test_next_only_goes_to_a_path_of_ours(web, target, expected) -> None:
    assert _sign_in(web, "lee", next=target).headers["location"] == expected


def test_the_next_path_survives_the_sign_in_page(web) -> None:
    page = web.get("/login?next=/test/clinicians")
    assert 'name="next" value="/test/clinicians"' in page.text
    assert web.get("/login?next=//evil.example").text.count('name="next" value="/"') == 1


def test_too_many_failures_per_username_are_refused_for_fifteen_minutes(web) -> None:
    assert (auth.MAX_FAILURES_PER_USER, auth.MAX_FAILURES_PER_ADDRESS, auth.FAILURE_WINDOW_SECONDS) == (5, 20, 900)
    moment = [1000.0]
    web.app.state.login_limit = auth.LoginRateLimit(clock=lambda: moment[0])
    for _ in range(5):
        assert _sign_in(web, "lee", "a wrong password here").status_code == 400
    refused = _sign_in(web, "lee")  # even the right password
    assert refused.status_code == 429 and "Too many attempts. Try again in 15 minutes." in refused.text
    assert "set-cookie" not in refused.headers
    assert _sign_in(web, "desk").status_code == 303  # another username from the same address is still let in
    moment[0] += 10 * 60
    assert "Try again in 5 minutes." in _sign_in(web, "lee").text
    moment[0] += 5 * 60 + 1
    assert _sign_in(web, "lee").status_code == 303


def test_too_many_failures_from_one_address_are_refused(web) -> None:
    web.app.state.login_limit = auth.LoginRateLimit(per_user=5, per_address=3)
    for name in ("a1", "a2", "a3"):
        assert _sign_in(web, name, "a wrong password here").status_code == 400
    refused = _sign_in(web, "lee")
    assert refused.status_code == 429 and "Too many attempts. Try again in 15 minutes." in refused.text


def test_posts_need_the_sessions_csrf_token(web) -> None:
    _sign_in(web, "lee")
    token = _csrf(web)
    assert web.post("/test/form", data={"value": "1", "csrf_token": token}).text == "got 1"
    for data in ({"value": "1"}, {"value": "1", "csrf_token": "forged"}, {"value": "1", "csrf_token": ""}):
        refused = web.post("/test/form", data=data)
        assert refused.status_code == 403 and "Form expired or forged" in refused.text
    cross_site = web.post(
        "/test/form", data={"value": "1", "csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403
    assert (
        web.post("/test/form", data={"csrf_token": token}, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    )
    # behind a reverse proxy that changes the Host header, a browser's own form still passes
    proxied = web.post(
        "/test/form",
        data={"value": "2", "csrf_token": token},
        headers={"Origin": "https://clinic.example", "Sec-Fetch-Site": "same-origin"},
    )
    assert proxied.text == "got 2"
    # signing in from another site is refused too (login CSRF)
    assert _sign_in(web, "lee", headers=None).status_code == 303
    assert (
        web.post("/login", data={"username": "lee", "password": PASSWORD}, headers={"Origin": "null"}).status_code
        == 403
    )
    # another session's token is not this session's
    other = TestClient(web.app, follow_redirects=False)
    _sign_in(other, "desk")
    assert other.post("/test/form", data={"value": "1", "csrf_token": token}).status_code == 403


def test_sign_out_needs_the_token_and_ends_the_session(web) -> None:
    _sign_in(web, "lee")
    cookie = web.cookies.get("aftercare_console")
    refused = web.post("/logout", data={})
    assert refused.status_code == 403 and "Form expired or forged" in refused.text
    assert web.get("/test/clinicians").status_code == 200
    answer = web.post("/logout", data={"csrf_token": _csrf(web)})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert 'aftercare_console=""' in answer.headers["set-cookie"] or "Max-Age=0" in answer.headers["set-cookie"]
    replay = TestClient(web.app, follow_redirects=False, cookies={"aftercare_console": cookie})
    assert replay.get("/test/clinicians").headers["location"] == "/login?next=/test/clinicians"


def test_signing_in_again_replaces_the_session(web) -> None:
    _sign_in(web, "lee")
    first = web.cookies.get("aftercare_console")
    _sign_in(web, "lee")
    assert web.cookies.get("aftercare_console") != first
    replay = TestClient(web.app, follow_redirects=False, cookies={"aftercare_console": first})
    assert replay.get("/test/clinicians").status_code == 303


def test_a_role_not_allowed_gets_the_403_page_without_data(web) -> None:
    _sign_in(web, "desk")
    page = web.get("/test/clinicians")
    assert page.status_code == 403
    assert "<h1>Not allowed</h1>" in page.text and SECRET_NAME not in page.text
    admin = TestClient(web.app, follow_redirects=False)
    _sign_in(admin, "admin")
    assert admin.get("/test/clinicians").text == "hello admin"  # admin passes every role check


def test_an_unused_session_expires(web) -> None:
    _sign_in(web, "lee")
    web.clock.now = NOW + dt.timedelta(hours=11)
    assert web.get("/test/clinicians").status_code == 200  # and this use moves the end
    web.clock.now = NOW + dt.timedelta(hours=22)
    assert web.get("/test/clinicians").status_code == 200
    web.clock.now = NOW + dt.timedelta(hours=34, minutes=1)
    assert web.get("/test/clinicians").headers["location"] == "/login?next=/test/clinicians"
    # a form sent after the session ended: sign in again, then home (a POST cannot be repeated by a redirect)
    assert web.post("/test/form", data={"value": "1"}).headers["location"] == "/login"


def test_every_answer_has_the_security_headers(web) -> None:
    for answer in (web.get("/login"), web.get("/"), web.get("/static/console.css")):
        headers = answer.headers
        assert "default-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"
    assert web.get("/login").headers["cache-control"] == "no-store"


def test_nothing_secret_reaches_the_log(web, caplog) -> None:
    caplog.set_level("DEBUG")
    _sign_in(web, "lee", "a wrong password here")
    _sign_in(web, "lee")
    token = web.cookies.get("aftercare_console")
    logged = caplog.text
    assert PASSWORD not in logged and "a wrong password here" not in logged and token not in logged
