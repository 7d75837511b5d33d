"""A photo's bytes through the Telegram Bot API (getFile, then the file URL), for the console's photo page.

Telegram keeps the image; we keep only its file_id. The bytes are fetched when a clinician opens the photo and
never stored. httpx only: bot.web uses no Telegram library. The token is part of the URLs, so neither URL is ever
logged (httpx logs requests at INFO: its logger is raised to WARNING here).
"""

from __future__ import annotations

import logging
from typing import Optional, Protocol, Tuple

import httpx

logging.getLogger("httpx").setLevel(logging.WARNING)

MAX_PHOTO_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download


class PhotoUnavailable(Exception):
    """Telegram could not give the file (unknown, too old, too big, or Telegram unreachable)."""


class BotFiles(Protocol):
    async def download(self, file_id: str) -> Tuple[bytes, str]:
        """(the file's bytes, its media type); raises PhotoUnavailable."""
        ...


class HttpBotFiles:
    """BotFiles over the Bot API at `base_url` (TELEGRAM_API_BASE_URL, e.g. https://api.telegram.org/bot)."""

    def __init__(self, token: str, base_url: str = "https://api.telegram.org/bot", timeout: float = 15.0) -> None:
        self._token = token
        self._base = base_url.rstrip("/")
        self._timeout = timeout

    def _file_base(self) -> str:
        # https://api.telegram.org/bot<token>/getFile → https://api.telegram.org/file/bot<token>/<file_path>
        root, _, prefix = self._base.rpartition("/")
        return f"{root}/file/{prefix}{self._token}"

    async def download(self, file_id: str) -> Tuple[bytes, str]:
        try:
            async with httpx.AsyncClient(timeout=self._timeout, follow_redirects=False) as client:
                answer = await client.post(f"{self._base}{self._token}/getFile", data={"file_id": file_id})
                payload = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
                file_path: Optional[str] = (payload.get("result") or {}).get("file_path") if payload.get("ok") else None
                if not file_path:
                    raise PhotoUnavailable("Telegram has no file for this photo.")
                response = await client.get(f"{self._file_base()}/{file_path}")
                if response.status_code != 200:
                    raise PhotoUnavailable(f"Telegram answered {response.status_code} for the file.")
                if len(response.content) > MAX_PHOTO_BYTES:
                    raise PhotoUnavailable("The file is too large.")
        except httpx.HTTPError as error:
            raise PhotoUnavailable(f"Telegram could not be reached ({type(error).__name__}).") from None
        except ValueError:  # not the JSON the Bot API answers with
            raise PhotoUnavailable("Telegram's answer could not be read.") from None
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if not media_type.startswith("image/"):
            media_type = "image/jpeg"  # Telegram serves photos as application/octet-stream
        return response.content, media_type
