"""bot.rasa_nlu.lock_store.AtomicRedisLockStore on the real Redis: one message of a conversation at a time, in the
order they came, across workers; Rasa's lock format both ways; the production endpoints build it."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import List

import pytest
import redis
from rasa.core.lock_store import LockError, LockStore, RedisLockStore
from rasa.utils.endpoints import read_endpoint_config

from bot.rasa_nlu.lock_store import AtomicRedisLockStore
from bot.settings import PROJECT_ROOT

HOST = os.environ.get("AFTERCARE_TEST_REDIS_HOST", "127.0.0.1")
PORT = int(os.environ.get("AFTERCARE_TEST_REDIS_PORT", "6379"))
DB = 11  # a database of its own: these tests delete what they write


@pytest.fixture
def prefix() -> str:
    """A key prefix of each test's own (Rasa wants it alphanumeric); its keys are deleted afterwards."""
    client = redis.Redis(host=HOST, port=PORT, db=DB, socket_timeout=3)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        if os.environ.get("AFTERCARE_REQUIRE_REDIS") == "1":
            pytest.fail(f"AFTERCARE_REQUIRE_REDIS=1 but Redis is unavailable: {error}")
        pytest.skip(f"Redis not reachable at {HOST}:{PORT} ({error})")
    name = f"locktest{secrets.token_hex(4)}"
    yield name
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)
    client.close()


def _ours(prefix: str) -> AtomicRedisLockStore:
    return AtomicRedisLockStore(host=HOST, port=PORT, db=DB, key_prefix=prefix)


def _theirs(prefix: str) -> RedisLockStore:
    return RedisLockStore(host=HOST, port=PORT, db=DB, key_prefix=prefix)


async def _messages(stores, count: int, log: List[str]) -> None:
    """`count` messages of one conversation, sent a moment apart to alternating workers, each holding the lock over
    a few awaits (as Rasa does over its own I/O)."""

    async def message(number: int) -> None:
        await asyncio.sleep(number * 0.002)
        async with stores[number % len(stores)].lock("patient-1", wait_time_in_seconds=0.01):
            log.append(f"start {number}")
            for _ in range(3):
                await asyncio.sleep(0.001)
            log.append(f"end {number}")

    await asyncio.gather(*(message(n) for n in range(count)))


def test_messages_of_one_conversation_run_one_at_a_time_in_order_across_workers(prefix: str) -> None:
    log: List[str] = []
    asyncio.run(_messages([_ours(prefix), _ours(prefix)], 12, log))
    assert log == [f"{step} {n}" for n in range(12) for step in ("start", "end")]
    assert _ours(prefix).get_lock("patient-1") is None  # nothing left behind


def test_workers_on_rasas_own_store_and_on_ours_share_the_lock(prefix: str) -> None:
    """A clinic moving from `type: redis` to this class, worker by worker, keeps one lock per conversation (Rasa's
    workers' own read-then-write can still lose a ticket until every worker has moved)."""
    log: List[str] = []
    asyncio.run(_messages([_theirs(prefix), _ours(prefix)], 8, log))
    assert log == [f"{step} {n}" for n in range(8) for step in ("start", "end")]


def test_the_lock_it_writes_is_rasas_ticket_lock(prefix: str) -> None:
    ours, theirs = _ours(prefix), _theirs(prefix)
    assert ours.issue_ticket("p", 60) == 0
    assert theirs.issue_ticket("p", 60) == 1  # Rasa's store reads ours and goes on from it
    assert ours.issue_ticket("p", 60) == 2
    lock = theirs.get_lock("p")
    assert [ticket.number for ticket in lock.tickets] == [0, 1, 2]
    assert lock.conversation_id == "p" and not lock.is_locked(0) and lock.is_locked(1)
    raw = json.loads(redis.Redis(host=HOST, port=PORT, db=DB).get(f"{prefix}:lock:p"))
    assert [json.loads(ticket)["number"] for ticket in raw["tickets"]] == [0, 1, 2]  # each ticket a JSON string

    ours.cleanup("p", 0)
    assert [ticket.number for ticket in theirs.get_lock("p").tickets] == [1, 2]
    theirs.cleanup("p", 1)
    ours.cleanup("p", 2)
    assert theirs.get_lock("p") is None


def test_a_ticket_that_expires_while_the_next_message_waits_stops_blocking_it(prefix: str) -> None:
    """A worker that died holding the lock: the next message waits, and goes ahead once that ticket's lifetime is
    over (Rasa's waiting loop, with the expired ticket dropped by our update_lock)."""
    ours = _ours(prefix)
    ours.issue_ticket("p", lock_lifetime=0.3)  # never given back
    log: List[str] = []

    async def enter() -> None:
        async with ours.lock("p", wait_time_in_seconds=0.05):
            log.append("entered")

    started = time.monotonic()
    asyncio.run(asyncio.wait_for(enter(), timeout=3))
    assert log == ["entered"] and time.monotonic() - started >= 0.25
    assert ours.get_lock("p") is None


def test_tickets_taken_at_the_same_moment_by_many_workers_are_all_different(prefix: str) -> None:
    """Rasa's store reads the lock and writes it back: two workers doing that at once can both take the same
    ticket, or one can overwrite the other's. Here each take is one atomic script."""
    workers = 16
    stores = [_ours(prefix) for _ in range(workers)]
    barrier = threading.Barrier(workers)

    def take(store: AtomicRedisLockStore) -> int:
        barrier.wait()
        return store.issue_ticket("p", 60)

    with ThreadPoolExecutor(workers) as pool:
        numbers = list(pool.map(take, stores))
    assert sorted(numbers) == list(range(workers))
    assert [ticket.number for ticket in _theirs(prefix).get_lock("p").tickets] == list(range(workers))


def test_a_lock_left_with_no_ticket_reads_as_rasa_writes_it(prefix: str) -> None:
    ours = _ours(prefix)
    ours.issue_ticket("p", lock_lifetime=-1)  # expired at once
    ours.update_lock("p")  # drops it and keeps the (empty) lock, as Rasa's update_lock does
    raw = redis.Redis(host=HOST, port=PORT, db=DB).get(f"{prefix}:lock:p")
    assert json.loads(raw) == {"conversation_id": "p", "tickets": []}
    ours.issue_ticket("p", 60)
    ours.finish_serving("p", 0)  # Rasa's finish_serving keeps the lock; cleanup deletes it
    assert json.loads(redis.Redis(host=HOST, port=PORT, db=DB).get(f"{prefix}:lock:p"))["tickets"] == []


def test_a_message_waits_for_the_one_before_and_then_goes_ahead(prefix: str) -> None:
    ours = _ours(prefix)
    first = ours.issue_ticket("p", 60)
    log: List[str] = []

    async def second() -> None:
        async with ours.lock("p", wait_time_in_seconds=0.02):
            log.append("second")

    async def scenario() -> None:
        waiting = asyncio.create_task(second())
        await asyncio.sleep(0.1)
        log.append("first done")
        ours.cleanup("p", first)
        await asyncio.wait_for(waiting, timeout=2)

    asyncio.run(scenario())
    assert log == ["first done", "second"]


def test_redis_out_of_reach_is_a_lock_error_as_in_rasa() -> None:
    store = AtomicRedisLockStore(host="127.0.0.1", port=1, socket_timeout=0.5)

    async def enter() -> None:
        async with store.lock("p"):
            pass

    with pytest.raises(LockError):
        asyncio.run(enter())


def test_the_production_endpoints_build_it(prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("ACTION_SERVER_TOKEN", "ACTION_ENDPOINT_URL"):
        monkeypatch.setenv(variable, "unused here")
    for variable in ("HOST", "PORT", "USER", "PASSWORD", "DB", "LOGIN_DB"):
        monkeypatch.setenv(f"RASA_TRACKER_PG_{variable}", "unused here")
    monkeypatch.setenv("RASA_LOCK_REDIS_HOST", HOST)
    monkeypatch.setenv("RASA_LOCK_REDIS_PORT", str(PORT))
    monkeypatch.setenv("RASA_LOCK_REDIS_DB", str(DB))
    config = read_endpoint_config(str(PROJECT_ROOT / "endpoints.production.yml"), "lock_store")
    store = LockStore.create(config)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.key_prefix == "aftercare:lock:"  # the file's key_prefix, as `type: redis` applies it
    assert store.issue_ticket(f"{prefix}-p", 60) == 0
    store.cleanup(f"{prefix}-p", 0)
    assert store.get_lock(f"{prefix}-p") is None
