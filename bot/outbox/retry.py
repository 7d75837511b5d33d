"""The outbox's ONE retry rule, for alerts and check-ins alike. Pure: no clock, no database, no randomness of its
own (the caller passes a number in [0, 1) for the jitter), so it is tested as a table of cases.

After a failed attempt number `attempts` (1 for the first):
* a PermanentSendError (bot blocked, chat not found) is never retried;
* nor is anything once `attempts` reaches `max_attempts`;
* otherwise wait the exponential backoff `base * 2 ** (attempts - 1)`, capped at `cap`, jittered to between
  half of it and all of it (so that many rows failing together do not retry together);
* and never less than a RetryAfter the messenger asked for (Telegram's flood control), plus up to a second of
  jitter. The cap does not shorten a RetryAfter: sending sooner would only be refused again.
Any other exception (not a SendError) counts as transient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from bot.outbox.errors import PermanentSendError, RetryAfter


@dataclass(frozen=True)
class RetryRule:
    base_seconds: float
    cap_seconds: float
    max_attempts: int

    def __post_init__(self) -> None:
        if self.base_seconds <= 0 or self.cap_seconds < self.base_seconds or self.max_attempts < 1:
            raise ValueError(f"unusable retry rule: {self}")

    def backoff(self, attempts: int) -> float:
        """The un-jittered wait after failed attempt number `attempts`."""
        return min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1))

    def delay(self, attempts: int, error: BaseException, jitter: float) -> Optional[float]:
        """Seconds to wait before the next attempt, or None: give up (permanent error, or out of attempts).

        `jitter` is a number in [0, 1) (random.random()); 0 gives the shortest wait, values near 1 the longest."""
        if not 0.0 <= jitter < 1.0:
            raise ValueError(f"jitter must be in [0, 1), not {jitter}")
        if isinstance(error, PermanentSendError) or attempts >= self.max_attempts:
            return None
        delay = self.backoff(attempts) * (0.5 + jitter / 2)
        if isinstance(error, RetryAfter):
            delay = max(delay, error.seconds + jitter)
        return delay
