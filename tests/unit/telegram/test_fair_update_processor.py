"""FairUpdateProcessor on its own: per-chat order, one slot per chat, queue cap, inbound rate, red flags kept, the
slow-down notice once per interval, and the staff lane."""

from __future__ import annotations

import asyncio
from typing import Dict, List, Tuple

import pytest
from telegram import Update

from bot.telegram.ordering import FairUpdateProcessor
from bot.triage.screen import screen

PATIENT, OTHER, STAFF = 11, 12, 99
_ids = iter(range(1, 10**6))


def text_update(chat: int, text: str) -> Update:
    return Update.de_json(
        {
            "update_id": next(_ids),
            "message": {
                "message_id": next(_ids),
                "date": 0,
                "chat": {"id": chat, "type": "private"},
                "from": {"id": chat, "is_bot": False, "first_name": "P"},
                "text": text,
            },
        },
        None,
    )


def button_update(chat: int, data: str) -> Update:
    return Update.de_json(
        {
            "update_id": next(_ids),
            "callback_query": {
                "id": str(next(_ids)),
                "chat_instance": "1",
                "data": data,
                "from": {"id": chat, "is_bot": False, "first_name": "P"},
                "message": {"message_id": 1, "date": 0, "chat": {"id": chat, "type": "private"}},
            },
        },
        None,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(**kwargs) -> Tuple[FairUpdateProcessor, List[Tuple[int, bool]]]:
    dropped: List[Tuple[int, bool]] = []

    async def is_staff(chat_id: int) -> bool:
        return chat_id == STAFF

    processor = FairUpdateProcessor(
        is_staff=is_staff,
        red_flag=lambda text: bool(screen(text)),
        on_dropped=lambda update, notify: dropped.append((update.effective_chat.id, notify)),
        **kwargs,
    )
    return processor, dropped


async def test_one_chat_in_order_and_other_chats_in_parallel() -> None:
    processor, _ = make(queue_cap=50, burst=50)
    gate = asyncio.Event()
    seen: List[str] = []

    async def work(name: str, wait: bool = False) -> None:
        if wait:
            await gate.wait()
        seen.append(name)

    tasks = [asyncio.create_task(processor.process_update(text_update(PATIENT, "a"), work("p1", wait=True)))]
    tasks += [
        asyncio.create_task(processor.process_update(text_update(PATIENT, "b"), work(f"p{i}"))) for i in range(2, 5)
    ]
    tasks.append(asyncio.create_task(processor.process_update(text_update(OTHER, "c"), work("other"))))
    await asyncio.sleep(0.05)
    assert seen == ["other"]  # the other chat did not wait for the patient's slow first message
    gate.set()
    await asyncio.gather(*tasks)
    assert seen == ["other", "p1", "p2", "p3", "p4"]


async def test_a_flooding_chat_holds_one_slot_and_cannot_starve_others() -> None:
    processor, _ = make(patient_slots=2, queue_cap=1000, burst=1000)
    gate = asyncio.Event()
    done: List[int] = []

    async def slow() -> None:
        await gate.wait()

    async def quick(chat: int) -> None:
        done.append(chat)

    flood = [asyncio.create_task(processor.process_update(text_update(PATIENT, "x"), slow())) for _ in range(200)]
    await asyncio.sleep(0.05)
    others = [
        asyncio.create_task(processor.process_update(text_update(chat, "hi"), quick(chat))) for chat in (OTHER, 13, 14)
    ]
    await asyncio.wait_for(asyncio.gather(*others), 1.0)
    assert sorted(done) == [OTHER, 13, 14]
    gate.set()
    await asyncio.gather(*flood)


async def test_over_the_queue_cap_messages_are_dropped_with_one_notice_but_red_flags_are_kept() -> None:
    clock = Clock()
    processor, dropped = make(queue_cap=2, burst=100, clock=clock)
    gate = asyncio.Event()
    ran: List[str] = []

    async def work(text: str) -> None:
        await gate.wait()
        ran.append(text)

    def send(text: str) -> asyncio.Task:
        return asyncio.create_task(processor.process_update(text_update(PATIENT, text), work(text)))

    tasks = [send(f"m{i}") for i in range(10)] + [send("and now there is pus")] + [send("m10")]
    await asyncio.sleep(0.05)
    gate.set()
    await asyncio.gather(*tasks)
    assert ran == ["m0", "m1", "m2", "and now there is pus"]  # 1 running + 2 queued, then the red flag
    assert processor.dropped == 8 and processor.kept_red_flags == 1
    assert dropped.count((PATIENT, True)) == 1 and len(dropped) == 8  # told once
    clock.now += 61
    gate.clear()
    tasks = [send(f"n{i}") for i in range(5)]
    await asyncio.sleep(0.05)
    gate.set()
    await asyncio.gather(*tasks)
    assert dropped.count((PATIENT, True)) == 2  # a minute later, told again


async def test_the_inbound_rate_limits_a_chat_that_is_answered_quickly() -> None:
    clock = Clock()
    processor, dropped = make(queue_cap=100, rate=0.5, burst=3, clock=clock)
    ran: List[int] = []

    async def work(i: int) -> None:
        ran.append(i)

    for i in range(6):
        await processor.process_update(text_update(PATIENT, f"m{i}"), work(i))
    assert ran == [0, 1, 2] and len(dropped) == 3
    clock.now += 2  # one more token
    for i in range(6, 8):
        await processor.process_update(text_update(PATIENT, f"m{i}"), work(i))
    assert ran == [0, 1, 2, 6]


@pytest.mark.parametrize(
    "update_for",
    [
        lambda chat: button_update(chat, "ack:12"),
        lambda chat: text_update(chat, "/open"),
        lambda chat: text_update(chat, "/resolve 12 seen"),
    ],
)
async def test_staff_buttons_and_commands_have_their_own_lane_and_no_limits(update_for) -> None:
    processor, dropped = make(patient_slots=1, queue_cap=0, burst=1)
    gate = asyncio.Event()

    async def block() -> None:
        await gate.wait()

    blocker = asyncio.create_task(processor.process_update(text_update(PATIENT, "x"), block()))
    await asyncio.sleep(0.01)
    ran: List[int] = []

    async def staff_work() -> None:
        ran.append(1)

    for _ in range(5):  # the only patient slot is taken, and limits would drop all but one
        await asyncio.wait_for(processor.process_update(update_for(STAFF), staff_work()), 1.0)
    assert ran == [1] * 5 and not dropped and processor.staff_updates == 5
    # The same from a chat that is not a practitioner's is a patient-lane update like any other.
    forged = asyncio.create_task(processor.process_update(update_for(OTHER), staff_work()))
    await asyncio.sleep(0.05)
    assert not forged.done()  # waiting for the patient slot
    gate.set()
    await asyncio.gather(blocker, forged)


async def test_updates_without_a_chat_are_processed() -> None:
    processor, _ = make()
    ran: Dict[str, bool] = {}

    async def work() -> None:
        ran["yes"] = True

    update = Update.de_json(
        {
            "update_id": 5,
            "inline_query": {
                "id": "1",
                "from": {"id": 3, "is_bot": False, "first_name": "M"},
                "query": "x",
                "offset": "",
            },
        },
        None,
    )
    await processor.process_update(update, work())
    assert ran == {"yes": True}
