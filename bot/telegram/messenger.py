"""`TelegramMessenger`: the outbox's Messenger (bot/outbox/messenger.py) on top of PTB's Bot.

It sends one message and translates PTB's exceptions into the outbox's three (bot/outbox/errors.py), so
the outbox can decide what to do:

    telegram.error.RetryAfter                 -> RetryAfter(seconds)     try again after that long
    TimedOut, NetworkError (incl. HTTP 5xx)   -> TransientSendError      try again later
    Forbidden (bot blocked), BadRequest
    (chat not found...), ChatMigrated         -> PermanentSendError      give up on this recipient
    InvalidToken                              -> TransientSendError      the clinic must fix the token; the
                                                                         alert should go out once it is fixed

Note: after TimedOut the message may in fact have been delivered (Telegram got it, the answer was slow);
the outbox then sends it again, which is why alerts carry a reference line for deduplication.
Alerts are plain text: alert texts contain the patient's own words and must not be parsed as HTML/Markdown.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Optional, Sequence, Tuple

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram import error as tg
from telegram.constants import MessageLimit
from telegram.ext import ExtBot

from bot.outbox.errors import PermanentSendError, RetryAfter, TransientSendError
from bot.telegram.sending import NO_RETRY, retry_after_seconds, shorten

log = logging.getLogger(__name__)


class TelegramMessenger:
    def __init__(self, bot: Bot, read_timeout: float = 15.0) -> None:
        self.bot = bot
        self.read_timeout = read_timeout

    async def send_alert(self, chat_id: int, text: str, buttons: Optional[Sequence[Tuple[str, str]]]) -> str:
        """Send `text` with `buttons` ((title, callback data) pairs, in one row); return the message id."""
        text = fit_alert(text)
        markup = None
        if buttons:
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(title, callback_data=data) for title, data in buttons]]
            )
        extra = self._no_retry()
        return await self._send(
            self.bot.send_message(
                chat_id, text, reply_markup=markup, parse_mode=None, read_timeout=self.read_timeout, **extra
            )
        )

    async def send_photo(self, chat_id: int, file_id: str, caption: str) -> str:
        """Send a photo Telegram already has by its file id (it is never downloaded); return the message id."""
        return await self._send(
            self.bot.send_photo(
                chat_id,
                file_id,
                caption=shorten(caption, MessageLimit.CAPTION_LENGTH),
                parse_mode=None,
                read_timeout=self.read_timeout,
                **self._no_retry(),
            )
        )

    def _no_retry(self) -> dict:
        if isinstance(self.bot, ExtBot) and self.bot.rate_limiter is not None:
            return {"rate_limit_args": NO_RETRY}  # the outbox reschedules; do not sit on a RetryAfter here
        return {}

    @staticmethod
    async def _send(request: Awaitable[Message]) -> str:
        """Await the Bot API call; PTB's exceptions become the outbox's three."""
        try:
            message = await request
        except tg.RetryAfter as error:
            raise RetryAfter(retry_after_seconds(error), f"Telegram flood control: {error}") from error
        except (tg.Forbidden, tg.BadRequest, tg.ChatMigrated) as error:
            # BadRequest must be caught before NetworkError: PTB makes it a subclass of NetworkError.
            raise PermanentSendError(f"Telegram refused the message: {error}") from error
        except tg.InvalidToken as error:
            log.critical("Telegram rejected the bot token: alerts cannot be delivered until it is fixed")
            raise TransientSendError(f"invalid bot token: {error}") from error
        except (tg.TimedOut, tg.NetworkError) as error:
            raise TransientSendError(f"Telegram unreachable: {type(error).__name__}: {error}") from error
        except tg.TelegramError as error:
            raise TransientSendError(f"Telegram error: {type(error).__name__}: {error}") from error
        return str(message.message_id)


def fit_alert(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> str:
    """Telegram refuses texts over 4096 characters, which would lose the alert for good: shorten the body
    instead, keeping the last line (the "ref E12/initial/0" reference the outbox deduplicates on)."""
    if len(text) <= limit:
        return text
    body, _, last_line = text.rpartition("\n")
    return shorten(body, limit - len(last_line) - 1) + "\n" + last_line
