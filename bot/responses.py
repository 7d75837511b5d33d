"""The bot's wording, read from the same files Rasa trains on, for when Rasa is not there to say it.

The gateway's safety net (Rasa down) answers with the very texts the assistant would use: the advice
responses in data/triage/advice_responses.yml and the conversation responses in domain.yml. Their {placeholders}
are the clinic's details from the settings (`clinic_slots`), the same values action_session_start puts into
Rasa's slots, so a reply reads the same whichever path said it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict, Mapping

import yaml

from bot.settings import PROJECT_ROOT, Settings

RESPONSE_FILES = (PROJECT_ROOT / "domain.yml", PROJECT_ROOT / "data" / "triage" / "advice_responses.yml")


# The placeholders a response may use, each the name of a slot that action_session_start sets from the settings.
CLINIC_PLACEHOLDERS = ("clinic_phone", "emergency_number", "callback_minutes", "clinic_hours")


def clinic_slots(settings: Settings) -> Dict[str, str]:
    """The clinic's details by placeholder name, as text: what {clinic_phone} etc. in a response become."""
    return {
        "clinic_phone": settings.clinic_phone,
        "emergency_number": settings.emergency_number,
        "callback_minutes": str(settings.patient_callback_minutes),
        "clinic_hours": settings.clinic_hours,
    }


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@lru_cache(maxsize=1)
def load_responses(files: tuple = RESPONSE_FILES) -> Dict[str, str]:
    texts: Dict[str, str] = {}
    for path in files:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        for name, variants in (data.get("responses") or {}).items():
            if variants and variants[0].get("text"):
                texts[name] = " ".join(variants[0]["text"].split())
    return texts


def render(name: str, slots: Mapping[str, str]) -> str:
    """The first variant of response `name`, with {slot} placeholders filled like Rasa fills them."""
    return load_responses()[name].format_map(_Blank(slots))
