"""The full Telegram path: local Bot API stand-in -> gateway (its own process, production wiring) -> Rasa ->
actions -> database -> reply, and the practitioner's alert through the gateway's notifier.

A turn's latency runs from injecting the patient's update into the stand-in to the first sendMessage of the
reply reaching it ("first"), and to the last message of that reply ("last"). The gateway handles one chat's
updates in order and shows "typing…" (sendChatAction) when it starts on a message, so the reply to turn k is
the sendMessage calls after turn k's typing action and before turn k+1's.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, Dict, List, Optional, Sequence, Tuple

from bot.run.processes import Processes
from devtools.bench.load import Ledger
from devtools.bench.scripts import Script
from devtools.bench.stats import latency_summary
from devtools.processes import cpu_seconds, memory
from devtools.telegram_standin import ApiCall, BotApiStandIn

TOKEN = "123456:BENCH-standin"
GATEWAY = "gateway"
RATE_LIMIT_REFILL_S = 3.0  # bot.telegram.sending.ClinicRateLimiter: per-chat burst 3 at 1 message/s


@dataclass(frozen=True)
class TelegramPatient:
    sender: str  # Rasa's conversation id, patient-<id>
    chat_id: int
    link_code: str
    practitioner_chat: int


@dataclass
class _Turn:
    chat_id: int
    injected: float  # perf_counter
    typing: Optional[ApiCall] = None
    first: Optional[ApiCall] = None
    last: Optional[ApiCall] = None


@dataclass
class _RedFlag:
    practitioner_chat: int
    injected: float
    reply: float
    mark: int


class TelegramBench:
    def __init__(
        self,
        tg: BotApiStandIn,
        processes: Processes,
        gateway_env: Dict[str, str],
        ledger: Ledger,
        reply_timeout: float = 60.0,
    ) -> None:
        self.tg = tg
        self.processes = processes
        self.gateway_env = {**gateway_env, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": tg.base_url}
        self.ledger = ledger
        self.reply_timeout = reply_timeout
        self.red_flags: List[_RedFlag] = []

    async def _wait(self, predicate=None, timeout: Optional[float] = None, **match) -> ApiCall:
        """Like the stand-in's wait_for_sent, but fails at once (with the gateway's log) if the gateway dies."""
        deadline = time.perf_counter() + (timeout or self.reply_timeout)
        while True:
            self.processes.check_alive(GATEWAY)
            try:
                return await self.tg.wait_for_sent(
                    predicate, min(1.0, max(0.01, deadline - time.perf_counter())), **match
                )
            except AssertionError:
                if time.perf_counter() >= deadline:
                    raise

    async def start_gateway(self, first: TelegramPatient, first_text: str) -> float:
        """Spawn the gateway and return seconds from spawn to its first answered patient message."""
        child = self.processes.spawn(GATEWAY, [sys.executable, "-m", "bot.run.gateway"], env=self.gateway_env)
        await self.link(first, timeout=120)
        turn = await self.turn(first.sender, first.chat_id, first_text)
        return turn.first.at - child.spawned_at

    async def link(self, patient: TelegramPatient, timeout: Optional[float] = None) -> None:
        mark = self.tg.mark()
        self.tg.inject_start(patient.chat_id, patient.link_code)
        await self._wait(
            lambda call: "now linked" in call.text,
            timeout=timeout,
            method="sendMessage",
            chat_id=patient.chat_id,
            since=mark,
        )

    async def turn(self, sender: str, chat_id: int, text: str) -> _Turn:
        mark = self.tg.mark()
        turn = _Turn(chat_id, time.perf_counter())
        self.tg.inject_text(chat_id, text)
        ok = False
        try:
            turn.typing = await self._wait(method="sendChatAction", chat_id=chat_id, since=mark)
            turn.first = await self._wait(method="sendMessage", chat_id=chat_id, since=self._index(turn.typing))
            ok = True
        finally:
            self.ledger.record(sender, text, ok)
        return turn

    def _index(self, call: ApiCall) -> int:
        return next(i for i in range(len(self.tg.calls) - 1, -1, -1) if self.tg.calls[i] is call)

    def _close_turn(self, turn: _Turn, until: Optional[ApiCall]) -> None:
        """The last message of `turn`'s reply: its last sendMessage before `until` (the next turn's typing)."""
        start = self._index(turn.first)
        end = self._index(until) if until is not None else len(self.tg.calls)
        replies = [
            call
            for call in self.tg.calls[start:end]
            if call.ok and call.method == "sendMessage" and call.chat_id == turn.chat_id
        ]
        turn.last = replies[-1]

    async def conversations(
        self,
        plan: Sequence[Tuple[Script, TelegramPatient]],
        think: float,
        over_rest: Callable[[Script], Awaitable[List[float]]],
    ) -> Dict[str, object]:
        """Each (Script, TelegramPatient) in turn; `think` seconds between a reply and the patient's next message.

        The gateway sends at most ~1 message a second per chat (Telegram's limit, with a burst of 3), so a patient
        who wrote faster than that would measure the rate limiter, not the path: `think` is a human pause.
        Before each conversation the same script also goes over REST (`over_rest`, returning its latencies), so
        the two paths are compared in the same minutes of a machine whose background load may drift."""
        # Linking sent two messages per chat: let the buckets refill. Meanwhile the gateway only polls: what that
        # costs a second is taken off its CPU per message below (it does not grow with the patients).
        idle_from, idle_cpu = time.perf_counter(), cpu_seconds(self.processes[GATEWAY].pid)
        await asyncio.sleep(RATE_LIMIT_REFILL_S)
        gateway_cpu = cpu_seconds(self.processes[GATEWAY].pid)
        started = time.perf_counter()
        idle_per_s = (gateway_cpu - idle_cpu) / (started - idle_from)
        turns: List[_Turn] = []
        rest: List[float] = []
        errors = 0
        for script, patient in plan:
            rest += await over_rest(script)
            previous: Optional[_Turn] = None
            for index, text in enumerate(script.turns):
                mark = self.tg.mark()
                try:
                    turn = await self.turn(patient.sender, patient.chat_id, text)
                except AssertionError:
                    errors += 1
                    break
                if previous is not None:
                    self._close_turn(previous, turn.typing)
                if index == script.red_flag_turn:
                    self.red_flags.append(_RedFlag(patient.practitioner_chat, turn.injected, turn.first.at, mark))
                turns.append(turn)
                previous = turn
                await asyncio.sleep(think)
            if previous is not None:
                await asyncio.sleep(max(0.0, 1.5 - think))  # let the tail of the last reply arrive
                self._close_turn(previous, None)
        gateway_cpu = cpu_seconds(self.processes[GATEWAY].pid) - gateway_cpu
        busy_cpu = max(0.0, gateway_cpu - idle_per_s * (time.perf_counter() - started))
        return {
            # Without its idle polling (measured just before); the REST conversations in between do not touch it.
            "gateway_cpu_ms_per_message": round(busy_cpu * 1000 / len(turns), 1) if turns else None,
            "gateway_idle_cpu_ms_per_s": round(idle_per_s * 1000, 1),
            "rest_same_minutes": latency_summary(rest),
            "first_message": latency_summary([t.first.at - t.injected for t in turns]),
            # The gateway's own share before Rasa: update delivered, patient looked up, "typing…" sent.
            "update_to_typing": latency_summary([t.typing.at - t.injected for t in turns]),
            "whole_reply": latency_summary([t.last.at - t.injected for t in turns if t.last]),
            "errors": errors,
            "think_s": think,
            "turns_ms": [
                [
                    round((t.first.at - t.injected) * 1000, 1),
                    round((t.last.at - t.injected) * 1000, 1) if t.last else None,
                ]
                for t in turns
            ],
        }

    async def red_flag_burst(self, patients: Sequence[TelegramPatient], texts: Sequence[str], gap: float) -> int:
        """One red-flag message from each patient, one after another (each waits for its own reply only)."""
        errors = 0
        for number, patient in enumerate(patients):
            mark = self.tg.mark()
            try:
                turn = await self.turn(patient.sender, patient.chat_id, texts[number % len(texts)])
            except AssertionError:
                errors += 1
                continue
            self.red_flags.append(_RedFlag(patient.practitioner_chat, turn.injected, turn.first.at, mark))
            await asyncio.sleep(gap)
        return errors

    async def alerts(self, timeout: float) -> Dict[str, object]:
        """When each red flag's alert reached its practitioner: after the patient's update, and after the reply."""
        after_update, after_reply, missing = [], [], 0
        deadline = time.perf_counter() + timeout
        for flag in self.red_flags:
            try:
                alert = await self._wait(
                    timeout=max(0.1, deadline - time.perf_counter()),
                    method="sendMessage",
                    chat_id=flag.practitioner_chat,
                    since=flag.mark,
                )
            except AssertionError:
                missing += 1
                continue
            after_update.append(alert.at - flag.injected)
            after_reply.append(alert.at - flag.reply)
        return {
            "red_flags": len(self.red_flags),
            "missing": missing,
            "after_patient_update": latency_summary(after_update),
            "after_patient_reply": latency_summary(after_reply),
        }

    def memory(self) -> Dict[str, float]:
        return memory(self.processes[GATEWAY].pid)
