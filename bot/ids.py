"""Record ids typed by people (staff commands in Telegram, the admin command line), parsed strictly.

`str.isdigit()` and `int()` accept more than a record id: "²" and "٣" are digits to them, "-3" and " 7 " are
numbers to int(), and a 20-digit number overflows the database's integer (SQLite: 64 bits; PostgreSQL's
`integer` columns: 32). An id here is 1 to 10 ASCII digits, no sign, no spaces, no leading zero, at most
2,147,483,647 (the largest value of the `integer` primary keys on every backend).
"""

from __future__ import annotations

import re
from typing import Optional

MAX_ID = 2**31 - 1
_ID = re.compile(r"[1-9][0-9]*")


class BadId(ValueError):
    """Not a record id; the message says why, in words a practitioner or an admin can act on."""


def parse_id(raw: Optional[str], what: str = "id") -> int:
    """The id in `raw`, or BadId saying what was wrong with it."""
    text = raw if isinstance(raw, str) else ""
    shown = text if len(text) <= 24 else text[:21] + "..."
    if not text:
        raise BadId(f"The {what} is missing: give a number such as 12.")
    article = "an" if what[:1] in "aeiou" else "a"
    if not _ID.fullmatch(text):
        raise BadId(
            f"{shown!r} is not {article} {what}: use the number alone, in plain digits 0-9 (e.g. 12), no "
            "sign, decimals or spaces."
        )
    if len(text) > len(str(MAX_ID)) or int(text) > MAX_ID:
        raise BadId(f"{shown!r} is not {article} {what}: ids go up to {MAX_ID}.")
    return int(text)


def is_id(raw: Optional[str]) -> bool:
    try:
        parse_id(raw)
    except BadId:
        return False
    return True
