"""The outbox's one retry rule (bot.outbox.retry), for alerts and check-ins alike: the backoff grows and is capped,
the jitter stays within its bounds, Telegram's retry_after is honoured, permanent errors are never retried."""

from __future__ import annotations

import random

import pytest

from bot.outbox.errors import PermanentSendError, RetryAfter, TransientSendError
from bot.outbox.retry import RetryRule

ALERTS = RetryRule(base_seconds=2, cap_seconds=60, max_attempts=8)
TRANSIENT = TransientSendError("502")


def test_backoff_doubles_from_the_base_up_to_the_cap():
    assert [ALERTS.backoff(attempt) for attempt in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


@pytest.mark.parametrize("jitter", [0.0, 0.25, 0.5, 0.999999])
def test_jitter_keeps_the_delay_between_half_and_all_of_the_backoff(jitter):
    for attempt in range(1, 8):
        full = ALERTS.backoff(attempt)
        delay = ALERTS.delay(attempt, TRANSIENT, jitter)
        assert full / 2 <= delay <= full
    assert ALERTS.delay(3, TRANSIENT, 0.0) == 4.0  # the shortest wait: half the backoff
    assert ALERTS.delay(3, TRANSIENT, 0.5) == 6.0


def test_delays_grow_with_the_attempts_and_spread_with_random_jitter():
    rng = random.Random(1)
    delays = [ALERTS.delay(attempt, TRANSIENT, rng.random()) for attempt in range(1, 8)]
    for attempt, delay in enumerate(delays, start=1):
        full = min(60, 2 * 2 ** (attempt - 1))
        assert full / 2 <= delay <= full
    # the lowest possible delay of each attempt is at least the highest of two attempts before (until the cap)
    assert all(ALERTS.delay(a + 2, TRANSIENT, 0.0) >= ALERTS.delay(a, TRANSIENT, 0.999) for a in range(1, 4))
    # rows failing together do not all retry together
    spread = {round(ALERTS.delay(4, TRANSIENT, rng.random()), 3) for _ in range(20)}
    assert len(spread) > 10


def test_retry_after_is_honoured_even_beyond_the_cap():
    for jitter in (0.0, 0.5, 0.99):
        assert 30 <= ALERTS.delay(1, RetryAfter(30), jitter) < 31  # longer than the 1-2 s backoff
        assert 3600 <= ALERTS.delay(1, RetryAfter(3600), jitter) < 3601  # the 60 s cap does not shorten it
    # a short RetryAfter does not cut a longer backoff
    assert ALERTS.delay(6, RetryAfter(1), 0.0) == 30.0


def test_permanent_errors_are_never_retried():
    for attempt in (1, 2, 7):
        assert ALERTS.delay(attempt, PermanentSendError("Forbidden: bot was blocked by the user"), 0.3) is None


def test_giving_up_after_max_attempts_whatever_the_error():
    assert ALERTS.delay(7, TRANSIENT, 0.3) is not None
    assert ALERTS.delay(8, TRANSIENT, 0.3) is None
    assert ALERTS.delay(8, RetryAfter(5), 0.3) is None
    assert RetryRule(30, 3600, 1).delay(1, TRANSIENT, 0.3) is None  # one attempt only


def test_other_exceptions_count_as_transient():
    assert 1 <= ALERTS.delay(1, TimeoutError("slow"), 0.0) <= 2


def test_check_in_rule_same_shape_other_numbers():
    checkins = RetryRule(base_seconds=30, cap_seconds=3600, max_attempts=5)
    assert [checkins.backoff(a) for a in range(1, 5)] == [30, 60, 120, 240]
    assert 15 <= checkins.delay(1, TRANSIENT, 0.0) <= 30


def test_nonsense_is_refused():
    with pytest.raises(ValueError):
        RetryRule(0, 10, 3)
    with pytest.raises(ValueError):
        RetryRule(10, 5, 3)
    with pytest.raises(ValueError):
        RetryRule(1, 10, 0)
    with pytest.raises(ValueError):
        ALERTS.delay(1, TRANSIENT, 1.0)
