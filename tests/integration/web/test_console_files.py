"""The console's photo access (bot.web.files.HttpBotFiles) against the Bot API stand-in: getFile, then the file URL,
over httpx; unknown files, a wrong token and an unreachable Telegram become PhotoUnavailable, and the token never
reaches the log."""

from __future__ import annotations

import logging

import pytest

from bot.web.files import HttpBotFiles, PhotoUnavailable
from devtools.telegram_standin import BotApiStandIn

TOKEN = "123456:console-files"


async def test_a_photo_comes_from_getfile_then_the_file_url(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    async with BotApiStandIn(token=TOKEN) as tg:
        tg.inject_photo(chat_id=42, file_id="AgACAgConsolePhoto")
        files = HttpBotFiles(TOKEN, tg.base_url)
        content, media_type = await files.download("AgACAgConsolePhoto")
        assert content.startswith(b"\xff\xd8\xff stand-in file ") and media_type == "image/jpeg"
        with pytest.raises(PhotoUnavailable):
            await files.download("AgACAgNoSuchFile")
        with pytest.raises(PhotoUnavailable):
            await HttpBotFiles("123456:wrong-token", tg.base_url).download("AgACAgConsolePhoto")
    with pytest.raises(PhotoUnavailable, match="could not be reached"):
        await HttpBotFiles(TOKEN, tg.base_url, timeout=2).download("AgACAgConsolePhoto")  # the stand-in has stopped
    assert TOKEN not in caplog.text
