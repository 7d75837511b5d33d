"""What a patient reads in a check-in or maintenance reminder, and the quick-answer buttons.

Kept short and warm: a check-in arrives unprompted on the patient's phone, so it must read as a friendly
question, not a form. It never names the patient: lock screens show the first lines of a message.

Buttons: (title, callback data). The callback data carries the "rasa:" prefix the Telegram gateway's
rasa_button handler listens for (bot/telegram/handlers/patient.py, RASA_BUTTON); it relays the rest to Rasa
as if the patient had typed it (and, with Rasa down, gives the button's title to the safety net).
"""

from __future__ import annotations

import datetime as dt
from typing import List, Optional, Tuple

from bot.checkins.schedule import MAINTENANCE

Buttons = List[Tuple[str, str]]

# Must match RASA_BUTTON in bot/telegram/handlers/patient.py (not imported: this module must not pull in
# python-telegram-bot, the sender also runs in the terminal demo).
RASA_BUTTON_PREFIX = "rasa:"

# (what the button says, what Rasa receives). Words go through the NLU like typed text ("some redness still" names
# a symptom, so the SafetyRouter sends it to triage); the other two are Rasa intent payloads, so that a tap never
# depends on how the intent classifier reads a vague sentence: "all good" gets its own reply, and "something
# worries me" goes to triage, which asks the patient to describe it.
QUICK_ANSWERS: Tuple[Tuple[str, str], ...] = (
    ("All good", "/all_good"),
    ("Some redness", "some redness still"),
    ("Something worries me", "/report_symptom"),
)


def checkin_buttons() -> Buttons:
    return [(title, RASA_BUTTON_PREFIX + words) for title, words in QUICK_ANSWERS]


def area_noun(area: Optional[str]) -> str:
    """What the patient would call the treated area."""
    return "scalp" if area == "scalp" else "skin"


def time_since(elapsed: dt.timedelta) -> str:
    """A rough, human "how long ago": "a day", "3 days", "a week", "4 weeks", "6 months"."""
    days = elapsed.total_seconds() / 86400
    if days < 1.5:
        return "a day"
    if days < 6.5:
        return f"{round(days)} days"
    if days < 10.5:
        return "a week"
    if days < 16 * 7:
        return f"{round(days / 7)} weeks"
    months = round(days / 30.4)
    return "a month" if months <= 1 else f"{months} months"


def checkin_text(area: Optional[str], elapsed: dt.timedelta) -> str:
    noun = area_noun(area)
    return (
        f"Hi! It's been about {time_since(elapsed)} since your treatment, so I'm checking in. "
        f"How is your {noun} doing?\n\n"
        "Tap an answer below or tell me in your own words. Send /stop if you'd rather not get these check-ins."
    )


def maintenance_text(area: Optional[str], elapsed: dt.timedelta, clinic_name: str, clinic_phone: str) -> str:
    noun = area_noun(area)
    return (
        f"Hi! It's been about {time_since(elapsed)} since your treatment. To keep your {noun} looking its best, "
        f"it may be time to book a maintenance session.\n\n"
        f"If you'd like one, please contact {clinic_name} ({clinic_phone}) to arrange it. "
        "And if anything about your treated area worries you, just tell me here."
    )


def render(
    kind: str, area: Optional[str], elapsed: dt.timedelta, clinic_name: str, clinic_phone: str
) -> Tuple[str, Optional[Buttons]]:
    """The message for a scheduled check-in row: (text, buttons or None)."""
    if kind == MAINTENANCE:
        return maintenance_text(area, elapsed, clinic_name, clinic_phone), None
    return checkin_text(area, elapsed), checkin_buttons()
