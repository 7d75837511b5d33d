"""Photos through the Messenger port: the console prints a [photo] line; photos after a message are best effort."""

from __future__ import annotations

import io
import logging

from bot.outbox.errors import PermanentSendError
from bot.outbox.messenger import ConsoleMessenger, send_once, send_photos


class _Photos:
    def __init__(self, fail_on=()):
        self.sent = []
        self.fail_on = set(fail_on)

    async def send_alert(self, chat_id, text, buttons):
        return "text-1"

    async def send_photo(self, chat_id, file_id, caption):
        if file_id in self.fail_on:
            raise PermanentSendError("Bad Request: wrong file identifier")
        self.sent.append((chat_id, file_id, caption))
        return f"photo-{len(self.sent)}"


async def test_the_console_prints_a_photo_as_a_photo_line() -> None:
    stream = io.StringIO()
    assert await ConsoleMessenger(stream).send_photo(1001, "AgACAgSecret", "E3 · photo 1 of 1") == "console-1"
    assert "[photo] E3 · photo 1 of 1" in stream.getvalue()
    assert "AgACAgSecret" not in stream.getvalue()


async def test_a_photo_message_is_sent_as_a_photo_with_its_caption() -> None:
    messenger = _Photos()
    assert await send_once(messenger, 7, "Photo from the patient", None, photo="F1") == "photo-1"
    assert messenger.sent == [(7, "F1", "Photo from the patient")]


async def test_photos_after_a_message_skip_the_one_that_fails_and_log_no_file_id(caplog) -> None:
    messenger = _Photos(fail_on={"F-BAD"})
    with caplog.at_level(logging.INFO):
        sent = await send_photos(messenger, 7, [("F1", "one"), ("F-BAD", "two"), ("F3", "three")], "alert delivery 4")
    assert sent == 2 and [file_id for _, file_id, _ in messenger.sent] == ["F1", "F3"]
    assert "photo 2 of 3 not sent" in caplog.text and "F-BAD" not in caplog.text and "two" not in caplog.text
