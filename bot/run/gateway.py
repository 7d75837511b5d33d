"""Run the clinic's Telegram gateway: `python -m bot.run.gateway` (the systemd gateway unit, `make bench`'s
Telegram path), `python -m bot.run.gateway --demo` (in-memory records, for trying it against the Bot API
stand-in), or from `make run` (bot.run.launcher) in Telegram mode.

The gateway itself is bot.telegram.app (handlers, ordering, webhook or polling); its production ports come from
the composition root (bot.bootstrap.gateway.gateway_deps).
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from bot.bootstrap.gateway import gateway_deps
from bot.settings import ConfigError, Settings
from bot.telegram.app import ALLOWED_UPDATES, build_application, configure_logging, webhook_options
from bot.telegram.ports import GatewayDeps


def main(settings: Optional[Settings] = None, deps: Optional[GatewayDeps] = None) -> int:
    """Run the bot until Ctrl-C, polling (default) or on a webhook, with `deps` or else the production ports
    (bot.bootstrap.gateway.gateway_deps). bot.run.launcher calls this with its settings."""
    if settings is None:
        try:
            settings = Settings.from_env().require_telegram()
        except ConfigError as error:
            raise SystemExit(f"Configuration problem: {error}") from None
    configure_logging(settings.log_level)
    application = build_application(settings, deps if deps is not None else gateway_deps(settings))
    if settings.telegram_mode == "webhook":
        application.run_webhook(**webhook_options(settings))
    else:
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
    return 0


def _cli(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Run the clinic's Telegram bot.")
    parser.add_argument("--demo", action="store_true", help="in-memory records: link code DEMO, staff chat 2001")
    parser.add_argument("--staff-chat", type=int, default=2001, help="the practitioner chat id in --demo mode")
    args = parser.parse_args(argv)
    deps = None
    if args.demo:
        from bot.telegram.memory import demo_deps

        deps = demo_deps(args.staff_chat).deps
    return main(None, deps)


if __name__ == "__main__":
    sys.exit(_cli())
