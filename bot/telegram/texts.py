"""Everything the bot says on its own (not Rasa's replies), in one place so a clinic can review the wording.

All texts are plain (no parse_mode), so nothing a patient or Rasa writes can break the formatting.
"""

from __future__ import annotations

from bot.settings import Settings


def disclaimer(s: Settings) -> str:
    return (
        f"I'm the automated aftercare assistant of {s.clinic_name}. I am not a doctor or nurse and I can't "
        f"replace advice from your practitioner.\n"
        f"For questions about your treatment, call the clinic on {s.clinic_phone}.\n"
        f"If you have trouble breathing, swelling of your lips, tongue or throat, or feel very unwell, call "
        f"{s.emergency_number} straight away."
    )


def linked(name: str) -> str:
    return (
        f"Hello {name}, this chat is now linked to your aftercare record. Tell me in your own words how your "
        f"skin or scalp feels, any time. Type /help to see what else I can do."
    )


def welcome_back(name: str) -> str:
    return f"Welcome back, {name}. Tell me how you are feeling, or type /help."


def link_refused(reason: str, s: Settings) -> str:
    return f"{reason}\nYou can reach the clinic on {s.clinic_phone}."


def not_linked(s: Settings) -> str:
    # Deliberately says nothing about any patient: we do not know who this is.
    return (
        f"Hello! This is the aftercare assistant of {s.clinic_name}. This chat isn't linked to a patient "
        f"record, so I can't help here yet. Please open the personal link the clinic gave you, or ask the "
        f"clinic for one on {s.clinic_phone}.\n"
        f"If you feel very unwell, call {s.emergency_number}."
    )


def not_linked_short() -> str:
    # Fits a button's pop-up (200 characters at most).
    return "This chat isn't linked to a patient record. Please open the personal link the clinic gave you."


def patient_help(s: Settings) -> str:
    return (
        'Just write to me in your own words how the treated area looks and feels, e.g. "my cheeks are a bit '
        'red and warm". You can also send a photo.\n\n'
        "/stop – pause the check-in messages\n/resume – turn them back on\n/help – this message\n\n"
        f"Clinic: {s.clinic_phone}. Emergency: {s.emergency_number}."
    )


def paused() -> str:
    return "I've paused the check-in messages. You can still write to me any time; /resume turns them back on."


def resumed() -> str:
    return "Check-in messages are back on. Thank you!"


def truncated(limit: int) -> str:
    return (
        f"Your message was long, so I read the first {limit} characters closely and checked the rest only for "
        f"warning signs. If there is more you want me to answer, please send it in a separate, shorter message."
    )


def slow_down() -> str:
    return (
        "You're sending messages faster than I can read them, so I've skipped some (any that mention a warning "
        "sign I still read). Please wait for my answer, then send one message with everything."
    )


def slow_down_short() -> str:
    return "Too many at once: please wait a moment and try again."


def rasa_down(s: Settings) -> str:
    return (
        f"I'm having trouble right now, so I may not understand everything. If anything feels urgent, please "
        f"call the clinic on {s.clinic_phone}, or {s.emergency_number} in an emergency."
    )


def photo_saved() -> str:
    return (
        "Thank you, I've saved your photo so your practitioner can see it. Please also tell me in words what "
        'you are noticing (for example "the redness is spreading on my left cheek").'
    )


def text_only(kind: str) -> str:
    if kind in {"voice", "audio", "video_note", "video"}:
        return "I can't listen to voice or video messages. Please type what you'd like to tell me."
    return "I can only read text messages and photos. Please describe it in words."


def edited() -> str:
    return "I only read new messages, not edits. Please send your correction as a new message."


def unknown_command() -> str:
    return "I don't know that command. Type /help to see what I can do."


def button_expired() -> str:
    return "This button has expired. Please type your answer instead."


def something_went_wrong(s: Settings) -> str:
    return (
        f"Sorry, something went wrong on our side. If your message is about your health and can't wait, please "
        f"call the clinic on {s.clinic_phone}, or {s.emergency_number} in an emergency."
    )


# --- staff ---------------------------------------------------------------------------------------------------
def staff_only() -> str:
    return "Sorry, this is only available to the clinic's practitioners."


def staff_help(name: str) -> str:
    return (
        f"Hello {name}. Alerts about patients arrive here with Acknowledge / Resolve buttons.\n\n"
        "/open – escalations not resolved yet\n/patient ID – a patient's summary and photos\n"
        "/resolve ID note – close an escalation with a note\n"
        "/newpatient – register a patient after their treatment (their link and QR code to scan)\n"
        "/appointment – book a planned treatment\n"
        "/cancel – leave /newpatient or /appointment without saving"
    )


def photo_unavailable(number: int) -> str:
    return f"Photo {number} could not be shown (Telegram no longer has it)."


def staff_usage(command: str) -> str:
    usage = {
        "patient": "/patient ID (a number, e.g. /patient 12)",
        "resolve": "/resolve ID note (e.g. /resolve 7 called the patient, all fine)",
    }
    return f"Usage: {usage[command]}"


def nothing_open() -> str:
    return "No open escalations. 🎉"
