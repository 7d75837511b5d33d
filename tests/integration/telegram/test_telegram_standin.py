"""The Bot API stand-in answers like Telegram at the HTTP level (so the gateway tests mean something)."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import httpx
from telegram import BotCommand, InputFile
from telegram_helpers import TOKEN, free_port

from devtools.telegram_standin import BotApiStandIn


async def _call(tg: BotApiStandIn, method: str, token: str = TOKEN, **params):
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{tg.port}/bot{token}/{method}", json=params) as response:
            return response.status, await response.json()


async def test_unknown_methods_and_bad_tokens_answer_like_telegram(tg: BotApiStandIn) -> None:
    assert await _call(tg, "sendTelepathy") == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert await _call(tg, "getMe", token="123456:wrong") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    assert (await _call(tg, "getMe", token="garbage"))[0] == 404
    status, body = await _call(tg, "GETME")  # method names are case-insensitive
    assert status == 200 and body["result"]["is_bot"] is True


async def test_get_and_form_requests_are_understood(tg: BotApiStandIn) -> None:
    tg.open_chat(5)
    async with aiohttp.ClientSession() as session:
        url = f"{tg.base_url}{TOKEN}/sendMessage"
        async with session.get(url, params={"chat_id": "5", "text": "via GET"}) as response:
            assert (await response.json())["result"]["text"] == "via GET"
        form = {"chat_id": "5", "text": "via form", "reply_markup": '{"keyboard": [[{"text": "Yes"}]]}'}
        async with session.post(url, data=form) as response:
            assert response.status == 200
    assert [c.text for c in tg.sent("sendMessage")] == ["via GET", "via form"]
    assert tg.sent("sendMessage")[1].params["reply_markup"] == {"keyboard": [[{"text": "Yes"}]]}


async def test_long_polling_waits_for_an_update_and_offset_acknowledges(tg: BotApiStandIn) -> None:
    started = time.monotonic()
    asyncio.get_running_loop().call_later(0.2, tg.inject_text, 5, "hi")
    status, body = await _call(tg, "getUpdates", timeout=5)
    assert 0.15 < time.monotonic() - started < 2 and [u["message"]["text"] for u in body["result"]] == ["hi"]

    update_id = body["result"][0]["update_id"]
    assert len((await _call(tg, "getUpdates"))[1]["result"]) == 1  # not acknowledged yet: delivered again
    assert (await _call(tg, "getUpdates", offset=update_id + 1))[1]["result"] == []

    started = time.monotonic()
    assert (await _call(tg, "getUpdates", timeout=1))[1]["result"] == []  # nothing: waits the full timeout
    assert time.monotonic() - started >= 0.9


async def test_allowed_updates_filter_and_stick(tg: BotApiStandIn) -> None:
    tg.inject_text(5, "text")
    await _call(tg, "getUpdates", allowed_updates=["callback_query"])
    assert (await _call(tg, "getUpdates"))[1]["result"] == []  # still filtered: the setting persists
    assert len((await _call(tg, "getUpdates", allowed_updates=[]))[1]["result"]) == 1


async def test_get_updates_conflicts_with_a_webhook(tg: BotApiStandIn) -> None:
    assert (await _call(tg, "setWebhook", url="http://127.0.0.1:9/hook"))[0] == 200
    status, body = await _call(tg, "getUpdates")
    assert status == 409 and "webhook is active" in body["description"]
    await _call(tg, "deleteWebhook")
    assert (await _call(tg, "getWebhookInfo"))[1]["result"]["url"] == ""


async def test_telegram_checks_are_emulated(tg: BotApiStandIn) -> None:
    tg.open_chat(5)
    assert (await _call(tg, "sendMessage", chat_id=6, text="x"))[1]["description"] == "Bad Request: chat not found"
    assert (await _call(tg, "sendMessage", chat_id=5, text=""))[1][
        "description"
    ] == "Bad Request: message text is empty"
    assert (await _call(tg, "sendMessage", chat_id=5, text="a < b", parse_mode="HTML"))[0] == 400
    assert (await _call(tg, "sendMessage", chat_id=5, text="x" * 4097))[0] == 400
    assert (await _call(tg, "answerCallbackQuery", callback_query_id="42"))[0] == 400
    too_long = {"inline_keyboard": [[{"text": "A", "callback_data": "x" * 65}]]}
    assert (await _call(tg, "sendMessage", chat_id=5, text="x", reply_markup=too_long))[1]["description"] == (
        "Bad Request: BUTTON_DATA_INVALID"
    )
    assert (await _call(tg, "sendDocument", chat_id=5))[0] == 400  # real method, not emulated: says so


async def test_injected_failures_and_slow_answers(tg: BotApiStandIn) -> None:
    tg.open_chat(5)
    tg.fail_next("sendMessage", 429, retry_after=3, count=2)
    for _ in range(2):
        status, body = await _call(tg, "sendMessage", chat_id=5, text="x")
        assert status == 429 and body["parameters"] == {"retry_after": 3}
    tg.fail_next("sendMessage", 200, delay=0.3)
    started = time.monotonic()
    assert (await _call(tg, "sendMessage", chat_id=5, text="x"))[0] == 200
    assert time.monotonic() - started >= 0.3
    assert [c.status for c in tg.attempts("sendMessage")] == [429, 429, 200]


async def test_ptb_client_features(tg: BotApiStandIn) -> None:
    """Multipart upload, commands and files through the real PTB Bot."""
    from telegram import Bot

    tg.open_chat(5)
    tg.inject_photo(5, file_id="PHOTO1")
    async with Bot(TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url) as bot:
        sent = await bot.send_photo(5, InputFile(b"\xff\xd8\xff fake jpeg", filename="a.jpg"), caption="look")
        assert sent.caption == "look" and sent.photo
        await bot.set_my_commands([BotCommand("help", "What I can do")])
        assert [c.command for c in await bot.get_my_commands()] == ["help"]
        file = await bot.get_file("PHOTO1")
        assert (await file.download_as_bytearray()).startswith(b"\xff\xd8\xff")
        assert await bot.log_out() is True


def test_the_readmes_offline_command_starts_the_stand_in(tmp_path) -> None:
    """README "Trying Telegram mode offline", terminal 1: the stand-in is run from the checkout (devtools/ is not
    in the installed package), here on a free port and without the interactive terminal."""
    root = Path(__file__).resolve().parents[3]
    readme = (root / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if "-m devtools.telegram_standin" in line)
    words = shlex.split(line, comments=True)
    assert words[0] == ".venv/bin/python" and words[1:3] == ["-m", "devtools.telegram_standin"], line
    token = words[words.index("--token") + 1]
    port = free_port()
    args = [sys.executable, *words[1 : words.index("--port")], "--port", str(port), "--token", token, "--no-input"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # as a user runs it: from the checkout
    env["PYTHONUNBUFFERED"] = "1"
    with open(tmp_path / "standin.log", "w") as log:
        process = subprocess.Popen(args, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and process.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/bot{token}/getMe", timeout=1.0)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise AssertionError(f"the stand-in did not answer: {(tmp_path / 'standin.log').read_text()}")
        assert answer.status_code == 200 and answer.json()["result"]["is_bot"] is True
        assert re.search(rf"stand-in on http://127\.0\.0\.1:{port}/bot", (tmp_path / "standin.log").read_text())
    finally:
        process.terminate()
        process.wait(timeout=10)
