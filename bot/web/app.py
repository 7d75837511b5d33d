"""The console's Starlette app: routes (auth.routes + pages.routes), templates, static files, security headers.

    app = build_app(settings, session_factory, bot_api=None)

app.state holds what handlers need: settings, session_factory (for UnitOfWork), templates, bot_api (BotFiles or
None: no Telegram token, no photos), login_limit (auth.LoginRateLimit) and clock (now, aware UTC).
Pages render with `render(request, "page.html", {...})` or request.app.state.templates.TemplateResponse(...);
templates get `csrf_field(request)` and `current_account(request)` as globals.
HTTPException(403/404/...) becomes the small error page (no data in it); HTTPException(303, headers=Location)
becomes a redirect (auth.require raises it to send a signed-out visitor to /login).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Callable, Dict, Optional

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.settings import Settings
from bot.store.models import utcnow
from bot.web import auth
from bot.web.files import BotFiles

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals["csrf_field"] = auth.csrf_field
templates.env.globals["current_account"] = auth.current_account

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
        b"object-src 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
]

ERROR_TITLES = {
    400: "Bad request",
    401: "Sign in first",
    403: auth.FORBIDDEN,
    404: "Not found",
    405: "Not allowed",
    413: "Too large",
    429: "Too many requests",
}


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response, and Cache-Control: no-store unless the response set its own
    (pages show health data; only /static may be cached)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in SECURITY_HEADERS if header[0] not in present)
                if not static and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def render(request: Request, name: str, context: Optional[Dict[str, Any]] = None, status_code: int = 200) -> Response:
    """A page from bot/web/templates (the context gets `request` and `account`)."""
    context = dict(context or {})
    context.setdefault("account", auth.current_account(request))
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status_code)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (301, 302, 303, 307, 308) and exc.headers and "Location" in exc.headers:
        return RedirectResponse(exc.headers["Location"], status_code=exc.status_code)
    title = ERROR_TITLES.get(exc.status_code)
    if title is None:
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code, headers=exc.headers)
    message = exc.detail if exc.status_code in (403, 429) and exc.detail else None
    if exc.status_code == 403:
        title = auth.FORBIDDEN
    return render(
        request,
        "forbidden.html",
        {"title": title, "message": message if message != title else None},
        status_code=exc.status_code,
    )


def build_app(
    settings: Settings,
    session_factory: Callable[[], Any],
    *,
    bot_api: Optional[BotFiles] = None,
    clock: Optional[Callable[[], dt.datetime]] = None,
) -> Starlette:
    """The console over this session factory (the database migrated already). bot_api: photos through the Bot
    API (None: /photos/… answers 404). clock: what "now" is (tests)."""
    from bot.web import pages

    app = Starlette(
        routes=[
            *auth.routes,
            *pages.routes,
            Mount("/static", app=StaticFiles(directory=str(STATIC_DIR)), name="static"),
        ],
        exception_handlers={HTTPException: http_error},
    )
    app.add_middleware(SecurityHeaders)
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.templates = templates
    app.state.bot_api = bot_api
    app.state.login_limit = auth.LoginRateLimit()
    app.state.clock = clock or utcnow
    return app
