"""Signing in and out, the session cookie, CSRF, the sign-in rate limit, and the helpers every page uses.

    account = await require(request, "clinician")   # signed in with one of these roles (admin always passes)
    form = await form_with_csrf(request)            # a POST's form, refused (403) without the session's token
    {{ csrf_field(request) }}                       # in a template's <form method="post">

The cookie (COOKIE_NAME) holds a random session token; the database keeps only its SHA-256
(bot.usecases.console_accounts). Cookies are HttpOnly and SameSite=Strict, Secure when CONSOLE_SECURE_COOKIES.
A POST from another site is refused whatever it carries (Origin / Sec-Fetch-Site), the sign-in form included.
Nothing here logs a password, a token or a username.
"""

from __future__ import annotations

import datetime as dt
import hmac
import math
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import Deque, Dict, Optional, Tuple
from urllib.parse import quote, urlsplit

from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.store.uow import UnitOfWork
from bot.usecases import console_accounts

COOKIE_NAME = "aftercare_console"
CSRF_FIELD = "csrf_token"
FORBIDDEN = "Not allowed"
FORGED = "Form expired or forged"
WRONG = "Wrong username or password."
# Requests the page makes by itself (the queue's refresh every 5 s): they do not keep a session alive.
AUTOMATIC = frozenset({"/queue/rows"})

# Sign-in attempts: this many failures per username, or per client address, within the window → 429.
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
FAILURE_WINDOW_SECONDS = 15 * 60


@dataclass(frozen=True)
class Account:
    """Who is signed in (request.state.account once `require` has run)."""

    id: int
    username: str
    role: str
    practitioner_id: Optional[int]
    csrf_token: str

    @property
    def actor(self) -> str:
        """How the audit trail names this account: console:USERNAME."""
        return f"console:{self.username}"


class LoginRateLimit:
    """Failed sign-ins per username and per client address within a sliding window (in memory, per process)."""

    def __init__(
        self,
        per_user: int = MAX_FAILURES_PER_USER,
        per_address: int = MAX_FAILURES_PER_ADDRESS,
        window_seconds: float = FAILURE_WINDOW_SECONDS,
        clock=time.monotonic,
    ) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self.window = window_seconds
        self.clock = clock
        self._failures: Dict[Tuple[str, str], Deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: Tuple[str, str], now: float) -> Deque[float]:
        times = self._failures[key]
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return deque()
        return times

    def retry_after(self, username: str, address: str) -> Optional[float]:
        """Seconds until another attempt is allowed, or None when one is allowed now."""
        now = self.clock()
        waits = []
        with self._lock:
            for key, limit in ((("user", username), self.per_user), (("address", address), self.per_address)):
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(times[len(times) - limit] + self.window - now)
        return max(waits) if waits else None

    def failed(self, username: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) > 10_000:  # many usernames tried: forget what is older than the window
                for key in list(self._failures):
                    self._recent(key, now)
            self._failures[("user", username)].append(now)
            self._failures[("address", address)].append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(("user", username), None)


# Helpers for the pages ---------------------------------------------------------------------------------------------
def _uow(request: Request) -> UnitOfWork:
    return UnitOfWork(request.app.state.session_factory)


def _now(request: Request) -> dt.datetime:
    return request.app.state.clock()


def safe_next(target: Optional[str]) -> str:
    """Where to go after signing in: a path on this site only ("/…", never "//…" or a full URL)."""
    target = target or ""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in target)
        or urlsplit(target).netloc
    ):
        return "/"
    return target


def login_redirect(request: Request) -> HTTPException:
    """To /login, coming back here afterwards (a page; after a form whose session had ended: home)."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method not in ("GET", "HEAD"):
        here = "/"
    target = "/login" if here == "/" else f"/login?next={quote(safe_next(here), safe='/')}"
    return HTTPException(status_code=303, headers={"Location": target})


def current_account(request: Request) -> Optional[Account]:
    """The signed-in account if `require` already ran for this request (templates: the nav), else None."""
    return getattr(request.state, "account", None)


async def signed_in(request: Request) -> Optional[Account]:
    """The account behind the request's cookie, or None (no cookie, unknown or expired session)."""
    account = current_account(request)
    if account is not None:
        return account
    token = request.cookies.get(COOKIE_NAME)
    if not token:
        return None
    settings = request.app.state.settings
    found = await run_in_threadpool(
        console_accounts.session_account,
        _uow(request),
        token,
        _now(request),
        settings.console_session_hours,
        renew=request.url.path not in AUTOMATIC,
    )
    if found is None:
        return None
    account = Account(found.id, found.username, found.role, found.practitioner_id, found.csrf_token)
    request.state.account = account
    return account


async def require(request: Request, *roles: str) -> Account:
    """The signed-in account. No or an expired session: raises a 303 to /login?next=<this path>. A role not among
    `roles` (admin always passes; no roles = any account): raises HTTPException(403), the "Not allowed" page."""
    account = await signed_in(request)
    if account is None:
        raise login_redirect(request)
    if roles and account.role not in roles and account.role != "admin":
        raise HTTPException(status_code=403, detail=FORBIDDEN)
    return account


def csrf_field(request: Request) -> Markup:
    """The hidden input every POST form carries (empty when nobody is signed in)."""
    account = current_account(request)
    token = account.csrf_token if account is not None else ""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, escape(token))


def same_origin(request: Request) -> bool:
    """False for a request a browser says comes from another site. Browsers send Sec-Fetch-Site (same-origin for our
    own forms; trusted first, as it is right behind a reverse proxy that changes the Host header); older ones
    only Origin, compared with Host (or X-Forwarded-Host). Neither header (not a browser): up to the CSRF token."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    ours = {request.headers.get("host", ""), request.headers.get("x-forwarded-host", "")} - {""}
    return urlsplit(origin).netloc in ours


async def form_with_csrf(request: Request) -> FormData:
    """The POSTed form of the signed-in account (runs `require` when it has not run); 403 "Form expired or
    forged" when the csrf_token field is missing or not this session's, or the request comes from another site."""
    account = await require(request)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if (
        not isinstance(sent, str)
        or not same_origin(request)
        or not hmac.compare_digest(sent.encode("utf-8"), account.csrf_token.encode("utf-8"))
    ):
        raise HTTPException(status_code=403, detail=FORGED)
    return form


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        httponly=True,
        samesite="strict",
        secure=bool(request.app.state.settings.console_secure_cookies),
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        COOKIE_NAME,
        path="/",
        httponly=True,
        samesite="strict",
        secure=bool(request.app.state.settings.console_secure_cookies),
    )


# Routes ---------------------------------------------------------------------------------------------------------------
def _login_page(request: Request, error: Optional[str] = None, status_code: int = 200, username: str = "") -> Response:
    return request.app.state.templates.TemplateResponse(
        request,
        "login.html",
        {"error": error, "username": username, "next": safe_next(request.query_params.get("next"))},
        status_code=status_code,
    )


async def login_form(request: Request) -> Response:
    if await signed_in(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return _login_page(request)


async def login(request: Request) -> Response:
    if not same_origin(request):
        raise HTTPException(status_code=403, detail=FORGED)
    form = await request.form()
    username = console_accounts.normalise_username(str(form.get("username") or ""))[:64]
    password = str(form.get("password") or "")
    address = client_address(request)
    limit: LoginRateLimit = request.app.state.login_limit
    wait = limit.retry_after(username, address)
    if wait is not None:
        minutes = max(1, math.ceil(wait / 60))
        return _login_page(
            request,
            f"Too many attempts. Try again in {minutes} minutes.",
            status_code=429,
            username=username,
        )
    uow = _uow(request)
    user = await run_in_threadpool(console_accounts.authenticate, uow, username, password, _now(request))
    if user is None:
        limit.failed(username, address)
        return _login_page(request, WRONG, status_code=400, username=username)
    limit.succeeded(username)
    old = request.cookies.get(COOKIE_NAME)
    if old:
        await run_in_threadpool(console_accounts.close_session, uow, old)
    token, _csrf = await run_in_threadpool(
        console_accounts.open_session,
        uow,
        user.id,
        _now(request),
        request.app.state.settings.console_session_hours,
    )
    target = safe_next(str(form.get("next") or request.query_params.get("next") or ""))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, token)
    return response


async def logout(request: Request) -> Response:
    await form_with_csrf(request)
    await run_in_threadpool(console_accounts.close_session, _uow(request), request.cookies.get(COOKIE_NAME))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(request, response)
    return response


async def home(request: Request) -> Response:
    account = await require(request)
    return RedirectResponse("/patients/new" if account.role == "desk" else "/queue", status_code=303)


routes = [
    Route("/", home, methods=["GET"], name="home"),
    Route("/login", login_form, methods=["GET"], name="login_form"),
    Route("/login", login, methods=["POST"], name="login"),
    Route("/logout", logout, methods=["POST"], name="logout"),
]
