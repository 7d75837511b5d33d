"""The action server, closed by default: `python -m bot.run.action_server --port 5055`
(bot.run.processes.action_server_args).

`rasa run actions` (rasa_sdk 3.6) listens on every interface (its host comes only from SANIC_HOST, default 0.0.0.0),
allows cross-origin requests from any web page, and checks no credentials: anyone who reaches the port can POST
/webhook as "patient-N" and have practitioners paged under a real patient's name. This runs the same application
(rasa_sdk.endpoint.create_app over the `actions` package, the same executor and routes) with:

* host 127.0.0.1 unless --host says otherwise (a container that must be reached from outside);
* no CORS headers, so a web page cannot call it from a browser;
* a shared secret: every request except GET /health must carry `?token=<ACTION_SERVER_TOKEN>`, which is what Rasa
  sends when endpoints.yml's action_endpoint has `token: ${ACTION_SERVER_TOKEN}`; anything else gets 401. The
  secret comes from the environment only (never a command line, which every local user can read in `ps`); the
  server refuses to start without it. `make run` generates one per run when it is not set;
* the log level pinned to INFO or higher (LOG_LEVEL=DEBUG would make rasa_sdk log whole trackers, i.e. what
  patients wrote), and no access log (its lines would carry the token).
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
from typing import Optional, Sequence

from bot.run.profiles import ACTION_TOKEN_VAR as TOKEN_VAR
from bot.run.profiles import pinned_log_level

TOKEN_PARAM = "token"  # rasa.utils.endpoints.EndpointConfig's default token_name
OPEN_PATHS = frozenset({"/health"})  # readiness checks (bot.run.processes.Processes.wait_http) carry no secret
MIN_TOKEN_LENGTH = 16

log = logging.getLogger("bot.run.action_server")


def create_app(token: str, actions_package: str = "actions"):
    """rasa_sdk's action server application, with the shared-secret check in front of every route but /health."""
    from rasa_sdk.endpoint import create_app as create_sdk_app
    from sanic import response

    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(f"{TOKEN_VAR} must be at least {MIN_TOKEN_LENGTH} characters")
    app = create_sdk_app(actions_package, cors_origins=None)
    expected = token.encode("utf-8")

    @app.middleware("request")
    async def require_token(request):
        if request.path in OPEN_PATHS:
            return None
        given = (request.args.get(TOKEN_PARAM) or "").encode("utf-8")
        if not hmac.compare_digest(given, expected):
            log.warning("refused a request to %s %s without the right token", request.method, request.path)
            return response.json({"error": "unauthorized"}, status=401)
        return None

    return app


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="The assistant's action server, on loopback, with a shared secret.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--actions", default="actions", help="the package with the actions (default: actions)")
    args = parser.parse_args(argv)

    token = os.environ.get(TOKEN_VAR, "")
    if len(token) < MIN_TOKEN_LENGTH:
        print(
            f"{TOKEN_VAR} is not set (or shorter than {MIN_TOKEN_LENGTH} characters): the action server does not "
            "start without its shared secret. `make run` sets one; give Rasa the same value (endpoints.yml "
            f"reads it as token: ${{{TOKEN_VAR}}}).",
            file=sys.stderr,
        )
        return 2

    level = pinned_log_level(os.environ.get("LOG_LEVEL"))
    os.environ["LOG_LEVEL"] = level  # what rasa_sdk reads, for anything that looks again
    from rasa_sdk import utils
    from rasa_sdk.plugin import plugin_manager

    utils.configure_colored_logging(level)
    utils.update_sanic_log_level()
    app = create_app(token, args.actions)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)  # as `rasa run actions` does
    log.info("action server on http://%s:%d (requests need the shared secret)", args.host, args.port)
    app.run(args.host, args.port, workers=1, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
