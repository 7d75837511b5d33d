"""The gateway's Rasa client with several workers (RASA_URL="http://a,http://b"): who gets which patient, and
what happens when a worker is down or slow."""

from __future__ import annotations

from typing import AsyncIterator, List

import pytest
from telegram_helpers import FakeRasa, free_port

from bot.settings import worker_urls
from bot.telegram.rasa import RasaClient, RasaUnavailable, sender_id


@pytest.fixture
async def workers() -> AsyncIterator[List[FakeRasa]]:
    started = [FakeRasa(), FakeRasa()]
    for worker in started:
        await worker.start()
    try:
        yield started
    finally:
        for worker in started:
            await worker.stop()


def test_worker_urls_are_read_from_a_comma_separated_setting() -> None:
    assert worker_urls(" http://a:5005/ , http://b:5006,") == ("http://a:5005", "http://b:5006")
    with pytest.raises(ValueError):  # ConfigError, which says what to set
        worker_urls(" , ")


async def test_each_patient_sticks_to_one_worker_and_patients_spread_over_both(workers: List[FakeRasa]) -> None:
    client = RasaClient(",".join(w.url for w in workers), timeout=2.0)
    try:
        for patient in range(1, 41):
            for turn in range(2):
                await client.send(sender_id(patient), f"message {turn}", {})
    finally:
        await client.aclose()
    by_worker = [[r["sender"] for r in worker.requests] for worker in workers]
    assert not set(by_worker[0]) & set(by_worker[1])  # no conversation is split between workers
    assert len(set(by_worker[0])) >= 10 and len(set(by_worker[1])) >= 10  # crc32 spreads 40 patients


async def test_a_refused_connection_goes_to_the_next_worker(workers: List[FakeRasa]) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    client = RasaClient([down, workers[0].url], timeout=2.0)
    try:
        # Find patients whose own worker is the one that is down, so the failover path is the one tested.
        patients = [p for p in range(1, 30) if client.urls_for(sender_id(p))[0].startswith(down)]
        assert patients
        for patient in patients:
            replies = await client.send(sender_id(patient), "hello", {})
            assert [r.text for r in replies] == ["Thanks for telling me."]
    finally:
        await client.aclose()
    assert [r["sender"] for r in workers[0].requests] == [sender_id(p) for p in patients]


async def test_a_slow_worker_is_not_retried_elsewhere(workers: List[FakeRasa]) -> None:
    """The slow worker may still process the message: sending it to a second one could triage it twice."""
    slow, other = workers
    slow.delay = 1.0
    client = RasaClient([slow.url, other.url], timeout=0.2)
    try:
        patient = next(p for p in range(1, 30) if client.urls_for(sender_id(p))[0].startswith(slow.url))
        with pytest.raises(RasaUnavailable, match="did not answer"):
            await client.send(sender_id(patient), "there is pus", {})
    finally:
        await client.aclose()
    assert other.requests == []


async def test_when_every_worker_is_down_the_gateway_is_told(workers: List[FakeRasa]) -> None:
    client = RasaClient([f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"], timeout=1.0)
    try:
        with pytest.raises(RasaUnavailable, match="unreachable"):
            await client.send(sender_id(1), "hello", {})
    finally:
        await client.aclose()
