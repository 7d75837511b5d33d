"""The preparation message sent before an appointment, and when it is due. Pure apart from reading the
clinic-editable guidance file (data/preparation/guidance.yml) once.

It is stored as a scheduled_checkins row of kind "preparation" (bot.usecases.appointments.add_appointment), so the
check-in sender sends it once, across restarts, like any check-in. Its button starts the screening form in
Rasa (intent start_screening) through the gateway's "rasa:" button relay.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Tuple

import yaml

PREPARATION = "preparation"
DEFAULT_GUIDANCE_PATH = Path(__file__).resolve().parents[2] / "data" / "preparation" / "guidance.yml"
# Must match RASA_BUTTON in bot/telegram/handlers/patient.py (see bot/checkins/texts.py for why not imported).
START_SCREENING_PAYLOAD = "rasa:/start_screening"

Buttons = List[Tuple[str, str]]


@dataclass(frozen=True)
class Guidance:
    intro: str
    steps: Tuple[str, ...]
    screening_invite: str
    outro: str
    button: str


def preparation_due(scheduled_at: dt.datetime, lead: dt.timedelta, now: dt.datetime) -> Optional[dt.datetime]:
    """When to send the preparation guidance: `lead` before the appointment, or at once (on linking, for a
    patient not linked yet) when the appointment is nearer than that. None when the appointment has passed."""
    if scheduled_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    if scheduled_at <= now:
        return None
    return max(now, scheduled_at - lead)


@lru_cache(maxsize=4)
def load_guidance(path: Path = DEFAULT_GUIDANCE_PATH) -> Guidance:
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    missing = [key for key in ("intro", "steps", "screening_invite", "outro", "button") if not data.get(key)]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    return Guidance(
        intro=str(data["intro"]).strip(),
        steps=tuple(" ".join(str(s).split()) for s in data["steps"]),
        screening_invite=str(data["screening_invite"]).strip(),
        outro=str(data["outro"]).strip(),
        button=str(data["button"]).strip(),
    )


def when_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%a %d %b at %H:%M UTC")


def render(
    scheduled_at: dt.datetime,
    area: Optional[str],
    clinic_name: str,
    clinic_phone: str,
    guidance: Optional[Guidance] = None,
) -> Tuple[str, Buttons]:
    """The preparation message and its one button (which starts the screening questions)."""
    guidance = guidance or load_guidance()
    values = {
        "when": when_text(scheduled_at),
        "noun": "scalp" if area == "scalp" else "skin",
        "clinic_name": clinic_name,
        "clinic_phone": clinic_phone,
    }
    lines = [guidance.intro.format(**values), ""]
    lines += [f"• {step.format(**values)}" for step in guidance.steps]
    lines += ["", guidance.screening_invite.format(**values), "", guidance.outro.format(**values)]
    return "\n".join(lines), [(guidance.button, START_SCREENING_PAYLOAD)]
