"""The web console's composition: `web_app(settings)` is the Starlette app `python -m bot.run.web` serves.

The clinic database migrated to the newest schema, a session factory over it, and photos through the Telegram
Bot API (bot.web.files.HttpBotFiles over TELEGRAM_API_BASE_URL) when a bot token is set; without one the photo
pages answer 404. Its own module, so that nothing else that imports bot.bootstrap loads Starlette.
"""

from __future__ import annotations

from typing import Optional

from starlette.applications import Starlette

from bot.bootstrap import session_factory
from bot.settings import Settings
from bot.web.app import build_app
from bot.web.files import HttpBotFiles


def web_app(settings: Optional[Settings] = None) -> Starlette:
    settings = settings or Settings.from_env()
    from bot.store import db

    db.upgrade(settings.database_url)
    bot_api = (
        HttpBotFiles(settings.telegram_bot_token, settings.telegram_api_base_url) if settings.telegram_enabled else None
    )
    return build_app(settings, session_factory(settings), bot_api=bot_api)
