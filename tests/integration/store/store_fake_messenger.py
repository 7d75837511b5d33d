"""Fake messengers for the notifier tests.

`RecordingMessenger` keeps what the recipients "saw". `FlakyMessenger` fails about half of the attempts in the
ways Telegram does (flood-control RetryAfter, 5xx, a timeout after the message was in fact delivered) and can
write what recipients saw to a file, so a notifier in another process can be killed without losing the record.
Recipients dedupe by the alert's reference line: (chat id, escalation, kind, round).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter
from typing import List, Optional, Tuple

from bot.escalation.alerts import parse_alert_ref
from bot.outbox.errors import RetryAfter, TransientSendError

SeenKey = Tuple[int, int, str, int]  # chat id, escalation id, kind, round


def seen_key(chat_id: int, text: str) -> SeenKey:
    ref = parse_alert_ref(text)
    assert ref is not None, f"message without a reference line: {text!r}"
    return (chat_id, *ref)


class RecordingMessenger:
    """Always succeeds unless told otherwise by `script` (a list of exceptions to raise, in order)."""

    def __init__(self, script: Optional[List[Exception]] = None) -> None:
        self.script = list(script or [])
        self.messages: List[Tuple[int, str, object]] = []
        self.attempts = 0

    async def send_alert(self, chat_id, text, buttons):
        self.attempts += 1
        if self.script:
            error = self.script.pop(0)
            if error is not None:
                raise error
        self.messages.append((chat_id, text, buttons))
        return f"m{len(self.messages)}"

    @property
    def seen(self) -> Counter:
        return Counter(seen_key(chat_id, text) for chat_id, text, _ in self.messages)


class FlakyMessenger:
    """Fails about `failure_rate` of attempts. Every attempt is logged; deliveries go to `seen_path` (fsync'd).

    hang_after: after that many deliveries, the next delivered message is recorded as seen and then the call
    never returns - the window between "sent" and "marked sent" in which the test kills the notifier.
    """

    def __init__(self, seen_path: str, seed: int, failure_rate: float = 0.5, hang_after: Optional[int] = None) -> None:
        self.seen_path = seen_path
        self.rng = random.Random(seed)
        self.failure_rate = failure_rate
        self.hang_after = hang_after
        self.outcomes: Counter = Counter()
        self.delivered = 0

    async def send_alert(self, chat_id, text, buttons):
        await asyncio.sleep(0)  # a real network call yields to the loop
        roll = self.rng.random()
        third = self.failure_rate / 3
        if roll < third:
            self._log("retry_after")
            raise RetryAfter(self.rng.choice([1, 2, 5]))
        if roll < 2 * third:
            self._log("http_502")
            raise TransientSendError("502 Bad Gateway")
        if roll < self.failure_rate:
            # The request timed out AFTER Telegram delivered it: the notifier must retry, the recipient sees
            # it twice. This is why delivery is at-least-once and recipients dedupe.
            self._record_seen(chat_id, text)
            self._log("timeout_after_delivery")
            raise TimeoutError("read timed out")
        self._record_seen(chat_id, text)
        self._log("ok")
        self.delivered += 1
        if self.hang_after is not None and self.delivered > self.hang_after:
            await asyncio.Event().wait()  # stuck after sending, before the notifier records it
        return f"tg-{self.delivered}"

    def _record_seen(self, chat_id: int, text: str) -> None:
        chat, escalation, kind, round_ = seen_key(chat_id, text)
        with open(self.seen_path, "a", encoding="utf-8") as seen:
            seen.write(f"{chat}\t{escalation}\t{kind}\t{round_}\n")
            seen.flush()
            os.fsync(seen.fileno())

    def _log(self, outcome: str) -> None:
        self.outcomes[outcome] += 1
        with open(self.seen_path + ".attempts", "a", encoding="utf-8") as log:
            log.write(outcome + "\n")


def read_seen(seen_path: str) -> Counter:
    if not os.path.exists(seen_path):
        return Counter()
    with open(seen_path, encoding="utf-8") as seen:
        rows = [line.rstrip("\n").split("\t") for line in seen if line.strip()]
    return Counter((int(c), int(e), k, int(r)) for c, e, k, r in rows)


def read_attempts(seen_path: str) -> Counter:
    path = seen_path + ".attempts"
    if not os.path.exists(path):
        return Counter()
    with open(path, encoding="utf-8") as log:
        return Counter(line.strip() for line in log if line.strip())


__all__ = ["FlakyMessenger", "RecordingMessenger", "read_attempts", "read_seen", "seen_key"]
