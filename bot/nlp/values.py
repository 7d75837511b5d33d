"""Turn the words of a time expression, pain score or temperature into a number.

Pure functions, no spaCy: they are called on the text of an entity the ruler found (and, by the actions, on a
patient's bare answer to a question such as "about a 6").
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Optional

WORD_NUMBERS = {
    "zero": 0,
    "one": 1,
    "a": 1,
    "an": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "couple": 2,
    "few": 3,
    "several": 4,
}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_WEEKDAY_PREFIX = {d[:3]: i for i, d in enumerate(WEEKDAYS)}

_NUMBER = r"(\d+(?:[.,]\d+)?|" + "|".join(sorted(WORD_NUMBERS, key=len, reverse=True)) + r")"
_UNIT_HOURS = {"hour": 1, "hr": 1, "day": 24, "week": 168, "month": 720}


def _number(token: str) -> Optional[float]:
    token = token.lower().replace(",", ".")
    if token in WORD_NUMBERS:
        return float(WORD_NUMBERS[token])
    try:
        return float(token)
    except ValueError:
        return None


def parse_hours_ago(text: str, now: Optional[datetime] = None) -> Optional[float]:
    """Hours between the event the patient describes and `now`; None when the words give no time.

    "yesterday" -> 24, "3 days ago" -> 72, "day 3" -> 72 (one reading: day N is N days after the treatment, as
    "N days ago" is; the later reading is also the safer one for "lasting beyond a few days"), "since Monday" ->
    hours back to the last Monday, "this morning" -> hours since 8 am (at least 1).
    """
    now = now or datetime.now()
    t = text.lower().strip()
    if re.search(r"\bday before yesterday\b", t):
        return 48.0
    if re.search(r"\byesterday\b|\byday\b|\bystd\b|\blast night\b", t):
        return 24.0 if "night" not in t else max(6.0, now.hour + 4.0)
    if re.search(r"\bthis morning\b|\bearlier today\b", t):
        return float(max(1, now.hour - 8))
    if re.search(r"\btoday\b|\bthis afternoon\b|\btonight\b|\bjust now\b|\bjust had\b", t):
        return float(max(1, min(now.hour - 9, 8))) if now.hour > 9 else 1.0
    m = re.search(r"\bday\s*(\d{1,2})\b", t)
    if m:
        return max(1.0, int(m.group(1)) * 24.0)
    m = re.search(_NUMBER + r"\s*(?:of\s+)?(hour|hr|day|week|month)s?\b", t)
    if m:
        n = _number(m.group(1))
        if n is not None:
            return n * _UNIT_HOURS[m.group(2)]
    m = re.search(r"\b(last|a)\s+(week|month)\b", t)
    if m:
        return float(_UNIT_HOURS[m.group(2)])
    m = re.search(r"\b(" + "|".join(_WEEKDAY_PREFIX) + r")[a-z]*\b", t)
    if m:
        back = (now.weekday() - _WEEKDAY_PREFIX[m.group(1)]) % 7 or 7
        return back * 24.0
    return None


def parse_pain_score(text: str) -> Optional[int]:
    """0-10 pain score from "7/10", "8 out of 10", "about a 6", "six"; None when absent or out of range."""
    t = re.sub(r"\b(out of|outta|of)\s+ten\b", r"\1 10", text.lower())  # "2 out of ten" is 2, not ten
    m = re.search(_NUMBER + r"\s*(?:/|out of|outta|of)\s*10\b", t)
    if not m:
        m = re.search(r"(?:^|\b)(?:about|around|like|maybe|a|an|its|it's|is|at|pain)?\s*" + _NUMBER + r"\s*$", t)
    if not m:
        return None
    n = _number(m.group(1))
    if n is None or not 0 <= n <= 10 or (m.group(1) in ("a", "an")):
        return None
    return int(round(n))


def parse_temperature_c(text: str) -> Optional[float]:
    """Body temperature in °C from "38.6", "39 degrees", "101F", "37,8 c"; Fahrenheit converted.

    Values outside what a living person's thermometer shows (34-43 °C, 93-110 °F) are rejected as not a
    temperature, so "8/10" or "38 years" never become a fever.
    """
    t = text.lower().replace(",", ".")
    m = re.search(r"(\d{2,3}(?:\.\d+)?)\s*(°|º|degrees?|deg)?\s*(c|celsius|centigrade|f|fahrenheit)?\b", t)
    if not m:
        return None
    value = float(m.group(1))
    unit = (m.group(3) or "")[:1]
    if unit == "f" or (not unit and 93 <= value <= 110):
        value = (value - 32) * 5 / 9
    if 34.0 <= value <= 43.0:
        return round(value, 1)
    return None
