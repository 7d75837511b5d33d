"""Advice keys: the names criteria use for what the bot says back.

Each key `k` is said with the Rasa response `utter_advice_<k>` in data/triage/advice_responses.yml, so the clinic
can reword a reply without touching code. A unit test checks that keys, criteria and responses agree.
"""

from __future__ import annotations

# Emergency ------------------------------------------------------------------------------------------------------
CALL_EMERGENCY = "call_emergency"
VASCULAR_EMERGENCY = "vascular_emergency"  # sight, speech, blanching skin: call now, the clinic too
SECOND_READING_EMERGENCY = "second_reading_emergency"  # the learned reading's emergency: what to call, for what

# Urgent: the practitioner has been alerted; what to do until they call ------------------------------------------
PRACTITIONER_ALERTED = "practitioner_alerted"
INFECTION_MEANWHILE = "infection_meanwhile"
SWELLING_MEANWHILE = "swelling_meanwhile"
PAIN_MEANWHILE = "pain_meanwhile"
ALLERGY_WATCH = "allergy_watch"
BLEEDING_MEANWHILE = "bleeding_meanwhile"
SKIN_CHANGE_MEANWHILE = "skin_change_meanwhile"
UNSURE_ESCALATED = "unsure_escalated"
COLD_SORE_MEANWHILE = "cold_sore_meanwhile"
NOT_UNDERSTOOD_ESCALATED = "not_understood_escalated"  # eyes, breathing, swallowing or speech, not understood

# Monitor: what to do and when to get back in touch ---------------------------------------------------------------
MONITOR_BRUISING = "monitor_bruising"
MONITOR_SENSITIVITY = "monitor_sensitivity"
MONITOR_BREAKOUTS = "monitor_breakouts"
MONITOR_ITCHING = "monitor_itching"
MONITOR_HAIR_SHEDDING = "monitor_hair_shedding"
MONITOR_PERSISTING = "monitor_persisting"
MONITOR_EARLY_REACTION = "monitor_early_reaction"  # stronger than most, but inside the first two days
MONITOR_POST_INFLAMMATORY = "monitor_post_inflammatory"  # pinkness after the first week
MONITOR_PAIN = "monitor_pain"
MONITOR_BLEEDING = "monitor_bleeding"
MONITOR_LUMP = "monitor_lump"
MONITOR_TEMPERATURE = "monitor_temperature"
WHEN_TO_GET_BACK = "when_to_get_back"

# Normal: what to expect and the aftercare that helps -------------------------------------------------------------
EXPECTED_REDNESS_SWELLING = "expected_redness_swelling"
EXPECTED_WARMTH_TENDERNESS = "expected_warmth_tenderness"
EXPECTED_PINPOINT_BLEEDING = "expected_pinpoint_bleeding"
EXPECTED_TIGHTNESS_PEELING = "expected_tightness_peeling"
AFTERCARE_BASICS = "aftercare_basics"

# No symptom the patient has now: what to watch for (a what-if, someone else's, long past), or all denied ---------
WATCH_FOR = "watch_for"
NOTHING_WRONG = "nothing_wrong"

ADVICE_KEYS: frozenset = frozenset(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)
)


def response_name(key: str) -> str:
    """The Rasa response that says the advice `key`."""
    return f"utter_advice_{key}"
