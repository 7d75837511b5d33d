"""Sending politely: Telegram's flood limits, RetryAfter, the typing indicator, long texts.

Telegram allows a bot about 30 messages per second overall and about 1 per second per chat (short bursts
are tolerated); beyond that it answers 429 "retry after N". PTB's own AIORateLimiter would do this but needs
the optional `aiolimiter` package, so `ClinicRateLimiter` is a small token-bucket implementation of PTB's
`BaseRateLimiter` interface. Every call the bot makes goes through it.

Patient replies are retried after a RetryAfter (a short wait is better than a lost answer). The notifier's
alerts are NOT retried here: TelegramMessenger passes `rate_limit_args=NO_RETRY` so the outbox, which
persists its schedule, decides when to try again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import warnings
from typing import Any, AsyncIterator, Callable, Coroutine, Dict, List, Optional, Union

from telegram import Bot
from telegram.constants import ChatAction, MessageLimit
from telegram.error import RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)

NO_RETRY: Dict[str, Any] = {"max_retries": 0}

# Calls that put something in a chat; the rest (answerCallbackQuery, getMe, setWebhook...) only count globally.
_CHAT_METHODS = {
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "sendVoice",
    "sendSticker",
    "sendMediaGroup",
    "editMessageText",
    "editMessageReplyMarkup",
    "editMessageCaption",
    "copyMessage",
    "forwardMessage",
}


def retry_after_seconds(error: RetryAfter) -> float:
    """The wait Telegram asked for, in seconds (PTB 22 returns int or timedelta depending on PTB_TIMEDELTA)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB's deprecation notice about the int form is not for us
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up. acquire() waits until a token is available."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = burst
        self._stamp = clock()
        self._lock = asyncio.Lock()  # waiters are served in arrival order

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self) -> None:
        async with self._lock:
            self._refill()
            if self._tokens < 1:
                await asyncio.sleep((1 - self._tokens) / self.rate)
                self._refill()
            self._tokens -= 1

    @property
    def idle(self) -> bool:
        """True when the bucket is full again, i.e. it may be forgotten."""
        self._refill()
        return self._tokens >= self.burst


class ClinicRateLimiter(BaseRateLimiter[Dict[str, Any]]):
    """Global ~30 msg/s and per-chat ~1 msg/s token buckets, plus waiting out RetryAfter.

    rate_limit_args (per call, optional): {"max_retries": N}. Waits longer than `max_wait` seconds are not
    sat out (a patient would have given up by then): the RetryAfter is raised to the caller instead.
    """

    def __init__(
        self,
        overall_per_second: float = 30.0,
        per_chat_per_second: float = 1.0,
        per_chat_burst: float = 3.0,
        max_retries: int = 2,
        max_wait: float = 30.0,
    ) -> None:
        self._overall = TokenBucket(overall_per_second, overall_per_second)
        self._per_chat_rate = per_chat_per_second
        self._per_chat_burst = per_chat_burst
        self._chats: Dict[Union[int, str], TokenBucket] = {}
        self._max_retries = max_retries
        self._max_wait = max_wait
        # Set while nobody is sitting out a RetryAfter: a 429 pauses every send, as Telegram expects.
        self._not_paused = asyncio.Event()
        self._not_paused.set()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def _chat_bucket(self, chat_id: Union[int, str]) -> TokenBucket:
        if len(self._chats) > 1000:  # forget chats that have been quiet long enough to have a full bucket
            self._chats = {key: bucket for key, bucket in self._chats.items() if not bucket.idle}
        bucket = self._chats.get(chat_id)
        if bucket is None:
            bucket = self._chats[chat_id] = TokenBucket(self._per_chat_rate, self._per_chat_burst)
        return bucket

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Union[bool, Dict[str, Any], List[Dict[str, Any]]]]],
        args: Any,
        kwargs: Dict[str, Any],
        endpoint: str,
        data: Dict[str, Any],
        rate_limit_args: Optional[Dict[str, Any]],
    ) -> Union[bool, Dict[str, Any], List[Dict[str, Any]]]:
        max_retries = (rate_limit_args or {}).get("max_retries", self._max_retries)
        chat_id = data.get("chat_id")
        attempt = 0
        while True:
            await self._not_paused.wait()
            if chat_id is not None and endpoint in _CHAT_METHODS:
                await self._chat_bucket(chat_id).acquire()
            await self._overall.acquire()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                wait = retry_after_seconds(error)
                if attempt >= max_retries or wait > self._max_wait:
                    raise
                attempt += 1
                log.warning(
                    "Telegram flood control on %s: waiting %.1fs (retry %d/%d)", endpoint, wait, attempt, max_retries
                )
                self._not_paused.clear()
                try:
                    await asyncio.sleep(wait)
                finally:
                    self._not_paused.set()


@contextlib.asynccontextmanager
async def typing_indicator(bot: Bot, chat_id: int, every: float = 4.5) -> AsyncIterator[None]:
    """Show "typing…" in the chat until the block ends (Telegram clears it after ~5 s, so it is repeated)."""
    done = asyncio.Event()

    async def keep_typing() -> None:
        while not done.is_set():
            try:
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            except TelegramError as error:  # cosmetic: never let it break the real work
                log.debug("typing indicator failed: %s", type(error).__name__)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(done.wait(), every)

    task = asyncio.get_running_loop().create_task(keep_typing())
    try:
        yield
    finally:
        done.set()
        # Let a chat action already on the wire finish (cancelling an HTTP request mid-flight leaves its
        # connection dangling), but never hold the reply back for long.
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(task, 1.0)


def split_text(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> List[str]:
    """Cut a text into pieces Telegram accepts, preferring paragraph, then line, then word boundaries."""
    pieces: List[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def shorten(text: str, limit: int) -> str:
    """`text` cut at a word boundary to at most `limit` characters, marked with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"
