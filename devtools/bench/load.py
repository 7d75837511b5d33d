"""The REST load client: simulated patients talking to one or more Rasa servers over the REST channel.

Latency is measured around each request with time.perf_counter(). Several Rasa workers are used round-robin
per MESSAGE (not per patient): consecutive messages of one conversation then reach different workers, and only
the shared lock store keeps them in order, which is what the event check at the end verifies.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import httpx

from devtools.bench.scripts import Script
from devtools.bench.stats import compare_events, latency_summary

WEBHOOK = "/webhooks/rest/webhook"


@dataclass
class Ledger:
    """Every message sent to one tracker store, per conversation and in order, to compare with the trackers."""

    sent: Dict[str, List[str]] = field(default_factory=lambda: defaultdict(list))
    failed: set = field(default_factory=set)  # conversations with a failed request: what Rasa kept is unknown

    def record(self, sender: str, text: str, ok: bool) -> None:
        self.sent[sender].append(text)
        if not ok:
            self.failed.add(sender)

    async def check(self, base_url: str, client: httpx.AsyncClient) -> Dict[str, object]:
        """Read every conversation's tracker and compare its user messages with what was sent."""
        checked = {s: t for s, t in self.sent.items() if s not in self.failed}
        recorded: Dict[str, List[str]] = {}
        for sender in checked:
            response = await client.get(
                f"{base_url}/conversations/{sender}/tracker", params={"include_events": "ALL"}, timeout=60
            )
            response.raise_for_status()
            recorded[sender] = [e.get("text") for e in response.json().get("events", []) if e.get("event") == "user"]
        result = compare_events(checked, recorded)
        result["conversations_skipped_after_errors"] = len(self.failed)
        return result


class Patients:
    """Conversation ids handed out one at a time and returned afterwards, so no two simulated patients ever
    speak in the same conversation at once (a real patient waits for the answer before writing again)."""

    def __init__(self, senders: Sequence[str]) -> None:
        self._queue: asyncio.Queue = asyncio.Queue()
        for sender in senders:
            self._queue.put_nowait(sender)

    async def take(self) -> str:
        return await self._queue.get()

    def give_back(self, sender: str) -> None:
        self._queue.put_nowait(sender)


class RestLoad:
    def __init__(self, urls: Sequence[str], ledger: Ledger, timeout: float = 60.0) -> None:
        self.urls = [u.rstrip("/") for u in urls]
        self.ledger = ledger
        self.timeout = timeout
        self._next_url = itertools.count()
        self.client = httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_connections=256, max_keepalive_connections=256)
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def say(self, sender: str, text: str) -> Tuple[bool, float, list]:
        """(ok, seconds, replies) for one message."""
        url = self.urls[next(self._next_url) % len(self.urls)] + WEBHOOK
        started = time.perf_counter()
        try:
            response = await self.client.post(url, json={"sender": sender, "message": text})
            replies = response.json() if response.status_code == 200 else None
            ok = isinstance(replies, list)
        except (httpx.HTTPError, ValueError):
            ok, replies = False, None
        elapsed = time.perf_counter() - started
        self.ledger.record(sender, text, ok)
        return ok, elapsed, replies or []

    async def conversations(self, scripts: Sequence[Script], patients: Patients) -> Dict[str, object]:
        """One patient at a time, turn after turn: the reply latency a patient sees on an otherwise idle server."""
        by_kind: Dict[str, List[float]] = defaultdict(list)
        errors = 0
        for script in scripts:
            latencies, failed = await self.converse(script, patients)
            by_kind[script.kind] += latencies
            errors += failed
        everything = [s for values in by_kind.values() for s in values]
        return {
            **latency_summary(everything),
            "errors": errors,
            "by_conversation_kind": {kind: latency_summary(values) for kind, values in sorted(by_kind.items())},
        }

    async def converse(self, script: Script, patients: Patients) -> Tuple[List[float], int]:
        """One conversation by the next free patient: (seconds of each answered message, failed messages)."""
        sender = await patients.take()
        try:
            return await self.play(sender, script)
        finally:
            patients.give_back(sender)

    async def play(self, sender: str, script: Script, deadline: float = float("inf")) -> Tuple[List[float], int]:
        """Say the script's turns as `sender`, stopping at `deadline`: (seconds of each answer, failed messages)."""
        latencies, errors = [], 0
        for text in script.turns:
            if time.perf_counter() >= deadline:
                break
            ok, seconds, _ = await self.say(sender, text)
            if ok:
                latencies.append(seconds)
            else:
                errors += 1
        return latencies, errors

    async def sustained(
        self, scripts: Sequence[Script], patients: Patients, concurrency: int, duration: float
    ) -> Dict[str, object]:
        """`concurrency` patients each talking without pause for `duration` seconds; messages/s completed."""
        script_cycle = itertools.cycle(scripts)
        deadline = time.perf_counter() + duration
        latencies: List[float] = []
        errors = 0
        started = time.perf_counter()

        async def patient() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                script, sender = next(script_cycle), await patients.take()
                try:
                    answered, failed = await self.play(sender, script, deadline)
                finally:
                    patients.give_back(sender)
                latencies.extend(answered)
                errors += failed

        await asyncio.gather(*(patient() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        return {
            "concurrency": concurrency,
            "seconds": round(elapsed, 2),
            "messages": len(latencies),
            "errors": errors,
            "messages_per_s": round(len(latencies) / elapsed, 2),
            "latency": latency_summary(latencies),
        }


async def first_answer(url: str, sender: str, text: str, started: float, timeout: float, alive=lambda: None) -> float:
    """Seconds from `started` (perf_counter) until `url` first answers a message with at least one reply.

    `alive()` is called between attempts and should raise if the server process has died."""
    async with httpx.AsyncClient(timeout=30) as client:
        while time.perf_counter() - started < timeout:
            alive()
            try:
                response = await client.post(url.rstrip("/") + WEBHOOK, json={"sender": sender, "message": text})
                if response.status_code == 200 and response.json():
                    return time.perf_counter() - started
            except (httpx.HTTPError, ValueError):
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} gave no answer within {timeout:.0f}s")


def best(levels: List[Dict[str, object]]) -> Optional[Dict[str, object]]:
    """The level with the most messages per second (its errors are reported with it)."""
    return max(levels, key=lambda level: level["messages_per_s"]) if levels else None
