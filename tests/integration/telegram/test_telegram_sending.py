"""The small pure helpers of the gateway: throttling, splitting, shortening, button payloads."""

from __future__ import annotations

import time

from bot.telegram.handlers.patient import decode_button, encode_button
from bot.telegram.sending import TokenBucket, shorten, split_text


async def test_token_bucket_allows_a_burst_then_paces() -> None:
    bucket = TokenBucket(rate=20, burst=2)
    started = time.monotonic()
    for _ in range(2):
        await bucket.acquire()
    assert time.monotonic() - started < 0.04  # the burst is free
    for _ in range(2):
        await bucket.acquire()
    assert time.monotonic() - started >= 0.09  # then one token per 1/20 s


def test_split_text_respects_telegrams_limit_and_word_boundaries() -> None:
    pieces = split_text("word " * 2000, limit=4096)
    assert all(len(piece) <= 4096 for piece in pieces) and len(pieces) == 3
    assert all(not piece.endswith("wor") for piece in pieces)
    assert split_text("short") == ["short"]


def test_shorten_cuts_at_a_word_and_marks_the_cut() -> None:
    assert shorten("a" * 10, 20) == "a" * 10
    cut = shorten("swollen cheek " * 100, 100)
    assert len(cut) <= 100 and cut.endswith("…") and "chee…" not in cut


def test_long_button_payloads_are_kept_in_chat_data() -> None:
    chat_data: dict = {}
    short, long = "/affirm", '/inform{"symptom": "swelling", "area": "left cheek", "severity": "moderate"}'
    assert encode_button(short, chat_data) == "rasa:/affirm" and chat_data == {}
    data = encode_button(long, chat_data)
    assert len(data.encode()) <= 64 and decode_button(data, chat_data) == long
    assert decode_button(data, {}) is None  # after a restart: "this button has expired"
    for _ in range(60):
        encode_button(long, chat_data)
    assert len(chat_data["rasa_payloads"]) == 50  # bounded
