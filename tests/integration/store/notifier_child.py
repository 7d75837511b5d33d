"""A notifier "process" for the fault test: runs passes on a simulated clock until killed.

usage: python notifier_child.py DATABASE_URL SEEN_PATH START_ISO HANG_AFTER SEED
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys

from store_fake_messenger import FlakyMessenger

from bot.delivery.alerts import Notifier
from bot.escalation.policy import EscalationPolicy
from bot.store.db import make_session_factory

FAULT_POLICY = EscalationPolicy(realert_after=dt.timedelta(days=30), backup_after=dt.timedelta(days=30))
STEP = dt.timedelta(seconds=5)


async def main(url: str, seen_path: str, start: str, hang_after: int, seed: int) -> None:
    messenger = FlakyMessenger(seen_path, seed=seed, hang_after=hang_after)
    notifier = Notifier(
        make_session_factory(url),
        messenger,
        FAULT_POLICY,
        max_attempts=20,
        base_backoff_seconds=1,
        max_backoff_seconds=20,
        batch_size=10,
    )
    now = dt.datetime.fromisoformat(start)
    while True:
        await notifier.run_once(now)
        now += STEP


if __name__ == "__main__":
    url, seen_path, start, hang_after, seed = sys.argv[1:6]
    asyncio.run(main(url, seen_path, start, int(hang_after), int(seed)))
