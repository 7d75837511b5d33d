"""Fair update processing: in order within one chat, in parallel across chats, and no chat can crowd out another.

PTB processes updates one at a time by default, so a patient waiting ~20 s on a slow Rasa answer would also delay
a practitioner's Acknowledge button. Full concurrency (`concurrent_updates(True)`) fixes that but could answer a
patient's second message before their first. `FairUpdateProcessor` does both, and holds under a flood:

* **One slot per chat.** An update takes one of the lane's processing slots only once it is its chat's turn, so a
  chat that sends 200 messages holds one slot (and queues behind itself), never all of them. (PTB's own
  semaphore, taken before us, is sized for the queues below, so it is never what a quiet chat waits for.)
* **A queue cap and an inbound limit per chat.** At most `queue_cap` updates wait per chat, and a chat may send
  `rate` updates per second on average (`burst` at once). Beyond that, an update is dropped: its handler never
  runs, and the chat is told once per `notice_every` seconds to slow down and send one message with everything
  (`on_dropped`). A dropped message is screened first (`red_flag`, the raw keyword screen, on its whole text):
  one with a red-flag word is kept, whatever the limits.
* **A staff lane.** Alert buttons (ack/resolve/done) and staff commands (/open, /patient, /resolve) from a chat
  registered as a practitioner's (`is_staff`, cached for `staff_ttl` seconds) use their own slots and no limits,
  so they never wait behind patients. Anybody else sending the same is a patient-lane update like any other
  (the handlers refuse them).

Updates without a chat (none of the kinds we ask Telegram for) are processed at once, on a patient-lane slot.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, Optional, Tuple

from telegram import Update
from telegram.ext import BaseUpdateProcessor

log = logging.getLogger(__name__)

STAFF_BUTTON = re.compile(r"^(ack|resolve|done):")
STAFF_COMMAND = re.compile(r"^/(open|patient|resolve)(@\w+)?(\s|$)", re.IGNORECASE)

IsStaff = Callable[[int], Awaitable[bool]]
OnDropped = Callable[[Update, bool], None]  # (update, notify): notify is True at most once per notice_every
RedFlag = Callable[[str], bool]


@dataclass
class _ChatState:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # FIFO: the chat's updates run in arrival order
    pending: int = 0  # updates of this chat running or waiting for its turn
    tokens: float = 0.0
    stamp: float = 0.0
    last_notice: float = float("-inf")


def update_text(update: object) -> str:
    """The words a patient sent in this update (message text or caption, or a button's data), else ''."""
    if not isinstance(update, Update):
        return ""
    if update.callback_query is not None:
        return update.callback_query.data or ""
    message = update.message or update.edited_message
    if message is None:
        return ""
    return message.text or message.caption or ""


class FairUpdateProcessor(BaseUpdateProcessor):
    def __init__(
        self,
        *,
        patient_slots: int = 32,
        staff_slots: int = 8,
        queue_cap: int = 5,
        rate: float = 0.5,
        burst: float = 10.0,
        notice_every: float = 60.0,
        is_staff: Optional[IsStaff] = None,
        red_flag: Optional[RedFlag] = None,
        on_dropped: Optional[OnDropped] = None,
        staff_ttl: float = 30.0,
        max_pending_updates: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # PTB takes its semaphore before do_process_update: sized so that it never fills before our own limits.
        super().__init__(max_pending_updates)
        self.patient_slots = patient_slots
        self.staff_slots = staff_slots
        self.queue_cap = queue_cap
        self.rate = rate
        self.burst = burst
        self.notice_every = notice_every
        self.is_staff = is_staff
        self.red_flag = red_flag
        self.on_dropped = on_dropped
        self.staff_ttl = staff_ttl
        self._clock = clock
        self._patients = asyncio.Semaphore(patient_slots)
        self._staff = asyncio.Semaphore(staff_slots)
        self._chats: Dict[int, _ChatState] = {}
        self._staff_cache: Dict[int, Tuple[bool, float]] = {}
        # Counters, for logs and tests.
        self.dropped = 0
        self.kept_red_flags = 0
        self.staff_updates = 0

    # --- PTB's interface ---------------------------------------------------------------------------------------
    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            async with self._patients:
                await coroutine
            return
        staff = await self._staff_lane(update, chat.id)
        state = self._state(chat.id)
        if not staff and not self._admit(state) and not self._keep_anyway(update):
            self._drop(update, state, coroutine)
            return
        state.pending += 1
        try:
            async with state.lock:
                async with self._staff if staff else self._patients:
                    await coroutine
        finally:
            state.pending -= 1

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    # --- lanes and limits ----------------------------------------------------------------------------------------
    async def _staff_lane(self, update: Update, chat_id: int) -> bool:
        """True for a staff button or command from a practitioner's chat (looked up only for those)."""
        if self.is_staff is None:
            return False
        if update.callback_query is not None:
            candidate = bool(STAFF_BUTTON.match(update.callback_query.data or ""))
        else:
            message = update.message
            candidate = message is not None and bool(STAFF_COMMAND.match(message.text or ""))
        if not candidate:
            return False
        now = self._clock()
        cached = self._staff_cache.get(chat_id)
        if cached is not None and cached[1] > now:
            staff = cached[0]
        else:
            try:
                staff = bool(await self.is_staff(chat_id))
            except Exception:  # cannot tell: the patient lane (the handler checks again anyway)
                log.exception("could not tell whether a chat is a practitioner's")
                return False
            if len(self._staff_cache) > 10_000:
                self._staff_cache = {k: v for k, v in self._staff_cache.items() if v[1] > now}
            self._staff_cache[chat_id] = (staff, now + self.staff_ttl)
        if staff:
            self.staff_updates += 1
        return staff

    def _state(self, chat_id: int) -> _ChatState:
        state = self._chats.get(chat_id)
        if state is None:
            if len(self._chats) > 10_000:
                self._forget_idle()
            state = self._chats[chat_id] = _ChatState(tokens=self.burst, stamp=self._clock())
        return state

    def _forget_idle(self) -> None:
        """Drop the state of chats with nothing queued, a full bucket and no recent notice."""
        now = self._clock()
        for chat_id, state in list(self._chats.items()):
            self._refill(state, now)
            if state.pending == 0 and state.tokens >= self.burst and now - state.last_notice >= self.notice_every:
                del self._chats[chat_id]

    def _refill(self, state: _ChatState, now: float) -> None:
        state.tokens = min(self.burst, state.tokens + (now - state.stamp) * self.rate)
        state.stamp = now

    def _admit(self, state: _ChatState) -> bool:
        """Room in the chat's queue and a token in its bucket (the token is only taken when there is room)."""
        if state.pending > self.queue_cap:  # one running plus queue_cap waiting
            return False
        self._refill(state, self._clock())
        if state.tokens < 1:
            return False
        state.tokens -= 1
        return True

    def _keep_anyway(self, update: object) -> bool:
        """A message over the limits is kept when its whole text has a red-flag word."""
        if self.red_flag is None:
            return False
        text = update_text(update)
        try:
            flagged = bool(text) and self.red_flag(text)
        except Exception:  # the screen failing must not lose a message: keep it
            log.exception("the red-flag screen failed on a message over the limits: kept")
            return True
        if flagged:
            self.kept_red_flags += 1
            log.warning("chat over its inbound limits sent a red-flag word: message kept")
        return flagged

    def _drop(self, update: Update, state: _ChatState, coroutine: Awaitable[Any]) -> None:
        self.dropped += 1
        if hasattr(coroutine, "close"):
            coroutine.close()  # never awaited: close it so Python does not warn
        now = self._clock()
        notify = now - state.last_notice >= self.notice_every
        if notify:
            state.last_notice = now
            log.warning("a chat is over its inbound limits: dropping its messages (told to slow down)")
        if self.on_dropped is not None:
            try:
                self.on_dropped(update, notify)
            except Exception:
                log.exception("on_dropped failed")
