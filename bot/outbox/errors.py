"""Errors a `Messenger` (bot.outbox.messenger) raises. Adapters (Telegram, console) translate their own exceptions
into these three, so the outbox's retry rule (bot.outbox.retry) does not depend on any messaging library.
"""

from __future__ import annotations


class SendError(Exception):
    """Base class for delivery failures."""


class RetryAfter(SendError):
    """The messenger asked us to slow down (Telegram flood control). Try again after `seconds`."""

    def __init__(self, seconds: float, message: str = "") -> None:
        super().__init__(message or f"retry after {seconds:g}s")
        self.seconds = float(seconds)


class TransientSendError(SendError):
    """Network trouble, timeouts, 5xx: the same message may well go through on a later attempt."""


class PermanentSendError(SendError):
    """The message can never be delivered as is (chat not found, bot blocked, bad request): do not retry."""
