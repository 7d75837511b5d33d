"""A patient's way into the bot: the t.me deep link that carries their one-time link code, and its QR code.

Printed by `aftercare patient add`, sent as a picture by the practitioners' /newpatient, shown on the web
console's patient card. The code links a chat to the patient's record: it is shown to the patient and the
person registering them, never logged and never put in a URL of ours.
"""

from __future__ import annotations

import io

import segno


def deep_link(bot_username: str, code: str) -> str:
    """The t.me link that opens the bot and sends `/start <code>`."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={code}"


def qr_png(text: str, scale: int = 8) -> bytes:
    """`text` as a QR code PNG, with the quiet zone scanners need (error correction M: survives a creased card)."""
    buffer = io.BytesIO()
    segno.make_qr(text, error="m").save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()
