"""The outbox's port to the outside world: a `Messenger` puts a message in front of a person.

Adapters: bot.telegram.messenger.TelegramMessenger (production) and `ConsoleMessenger` below (the terminal
demo). Both raise only the three errors of bot.outbox.errors.
"""

from __future__ import annotations

import asyncio
import logging
import textwrap
from typing import IO, List, Optional, Protocol, Sequence, Tuple

from bot.outbox.errors import SendError, TransientSendError

log = logging.getLogger(__name__)

Buttons = Optional[List[Tuple[str, str]]]


class Messenger(Protocol):
    """Anything that can put a message in front of a person. Returns the external message id.

    Raises RetryAfter(seconds), TransientSendError or PermanentSendError (bot.outbox.errors).
    """

    async def send_alert(self, chat_id: int, text: str, buttons: Buttons) -> str: ...

    async def send_photo(self, chat_id: int, file_id: str, caption: str) -> str:
        """Send a photo Telegram already has (a patient's), by its file id, never downloading it."""
        ...


async def send_once(
    messenger: Messenger, chat_id: int, text: str, buttons: Buttons, photo: Optional[str] = None
) -> object:
    """Send one message (with `photo`: that photo, `text` its caption); returns the external message id or the
    SendError that stopped it (never raises one)."""
    try:
        if photo is not None:
            return await messenger.send_photo(chat_id, photo, text)
        return await messenger.send_alert(chat_id, text, buttons)
    except SendError as error:
        return error
    except (asyncio.TimeoutError, OSError) as error:  # an adapter that let a network error through
        return TransientSendError(f"{type(error).__name__}: {error}")


async def send_photos(messenger: Messenger, chat_id: int, photos: Sequence[Tuple[str, str]], what: str) -> int:
    """Send (file id, caption) photos one by one after a message; returns how many went out. Best effort: a photo
    that cannot be sent is logged (which one by position only: no file id, no caption) and the rest still go."""
    sent = 0
    for index, (file_id, caption) in enumerate(photos, 1):
        try:
            await messenger.send_photo(chat_id, file_id, caption)
            sent += 1
        except Exception as error:  # whatever it was, the message itself has gone out and stays sent
            log.warning("%s: photo %s of %s not sent (%s)", what, index, len(photos), type(error).__name__)
    return sent


class ConsoleMessenger:
    """Prints messages in a box on a stream: the practitioner's (and patient's) "phone" without Telegram."""

    def __init__(self, stream: IO[str], width: int = 72) -> None:
        self.stream = stream
        self.width = width
        self._count = 0

    async def send_alert(self, chat_id: int, text: str, buttons: Buttons) -> str:
        self._count += 1
        self.stream.write(self.boxed(f"message to chat {chat_id}", text, buttons or ()))
        self.stream.flush()
        return f"console-{self._count}"

    async def send_photo(self, chat_id: int, file_id: str, caption: str) -> str:
        self._count += 1
        self.stream.write(self.boxed(f"message to chat {chat_id}", f"[photo] {caption}", ()))
        self.stream.flush()
        return f"console-{self._count}"

    def boxed(self, title: str, text: str, buttons: Sequence[Tuple[str, str]]) -> str:
        inner = self.width - 4
        lines: List[str] = []
        for paragraph in text.splitlines() or [""]:
            lines.extend(textwrap.wrap(paragraph, inner) or [""])
        if buttons:
            lines.append("")
            lines.append("  ".join(f"[{label}: {data}]" for label, data in buttons))
        top = f"┌─ {title} " + "─" * max(0, self.width - len(title) - 5) + "┐"
        body = [f"│ {line.ljust(inner)} │" for line in lines]
        bottom = "└" + "─" * (self.width - 2) + "┘"
        return "\n" + "\n".join([top, *body, bottom]) + "\n"
