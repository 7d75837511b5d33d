"""Run the clinic's web console: `python -m bot.run.web` (uvicorn on CONSOLE_HOST:CONSOLE_PORT, 127.0.0.1:8765 by
default). `make run` starts it beside Rasa and restarts it if it dies (bot.run.launcher).

Quiet on purpose: uvicorn's access log is off and its level is WARNING, so no path, query or address of a clinic
user's request reaches a log. Bound to this machine by default; to reach it from elsewhere put it behind a
reverse proxy that terminates TLS, and set CONSOLE_SECURE_COOKIES=true.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional, Sequence

from bot.settings import ConfigError, Settings


def web_server_args(host: Optional[str] = None, port: Optional[int] = None) -> List[str]:
    """How bot.run.launcher starts this module as a child."""
    args = [sys.executable, "-m", "bot.run.web"]
    if host:
        args += ["--host", host]
    if port:
        args += ["--port", str(port)]
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Run the clinic's web console.")
    parser.add_argument("--host", default=None, help="address to listen on (default CONSOLE_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default CONSOLE_PORT, 8765)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    import uvicorn

    from bot.bootstrap.web import web_app

    uvicorn.run(
        web_app(settings),
        host=args.host or settings.console_host,
        port=args.port or settings.console_port,
        log_level="warning",
        access_log=False,
        server_header=False,
        ws="none",  # no websockets (Rasa pins an older websockets package than uvicorn's own protocol needs)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
