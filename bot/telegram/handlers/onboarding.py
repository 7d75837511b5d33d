"""The clinic side without a terminal: /newpatient registers a patient after their treatment and answers with their
link and its QR code (scanned at the desk); /appointment books a planned treatment.

Both are dialogs in one PTB ConversationHandler (PTB's conversationbot example): one question at a time, buttons
where there are few answers (typing the answer works too), an answer that cannot be used is asked again with what
is expected. Nothing is written before Confirm: /cancel, the Cancel button or 15 minutes without an answer leave
with nothing saved. Registered practitioners only (looked up by chat, never trusted from the chat), private chats
only. Times are the clinic's time, which is UTC (there is no time-zone setting).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import warnings
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.links import deep_link, qr_png
from bot.telegram import texts
from bot.telegram.context import ClinicContext
from bot.telegram.handlers.staff import DONE
from bot.telegram.ports import Refused, RefusedAnswer, StaffMember

log = logging.getLogger(__name__)

NAME, PATIENT, WHEN, AREA, METHOD, PRACTITIONER, CONFIRM = range(7)
TIMEOUT = dt.timedelta(minutes=15)
DRAFT = "onboarding"  # context.user_data key
PREFIX = "onb"  # callback data: onb:now, onb:area:face, onb:method:combined, onb:pr:3, onb:confirm, onb:cancel
AREAS = ("face", "scalp")
METHODS = ("microneedling", "microinjection", "combined")
NAME_LIMIT = 120
# A treatment entered as "now" a few seconds late must not count as in the future (the use case allows 5 minutes).
FUTURE_TOLERANCE = dt.timedelta(minutes=5)

NEW_PATIENT, APPOINTMENT = "patient", "appointment"
COMMAND = {NEW_PATIENT: "/newpatient", APPOINTMENT: "/appointment"}


@dataclass
class Draft:
    """The answers so far. `confirming`: asked again after a refusal at Confirm, so go back to the summary."""

    kind: str
    by: StaffMember
    name: Optional[str] = None
    patient_id: Optional[int] = None
    when: Optional[dt.datetime] = None
    area: Optional[str] = None
    method: Optional[str] = None
    practitioner: Optional[StaffMember] = None
    choices: List[StaffMember] = field(default_factory=list)
    confirming: bool = False


# Entry points ---------------------------------------------------------------------------------------------------
async def new_patient(update: Update, context: ClinicContext) -> int:
    """Register a patient after their treatment and give them their link: /newpatient."""
    return await _start(update, context, NEW_PATIENT)


async def appointment(update: Update, context: ClinicContext) -> int:
    """Book a planned treatment for a registered patient: /appointment."""
    return await _start(update, context, APPOINTMENT)


async def _start(update: Update, context: ClinicContext, kind: str) -> int:
    member = await context.gateway.deps.staff.practitioner_for_chat(update.effective_chat.id)
    context.user_data.pop(DRAFT, None)
    if member is None:
        log.warning("%s from a chat that is not a practitioner's: refused", COMMAND[kind])
        await update.effective_message.reply_text(texts.staff_only())
        return ConversationHandler.END
    if context.gateway.deps.onboarding is None:
        await update.effective_message.reply_text("Sorry, registering patients is not available here.")
        return ConversationHandler.END
    context.user_data[DRAFT] = Draft(kind, member)
    leave = "/cancel leaves at any step; nothing is saved before you confirm."
    if kind == NEW_PATIENT:
        await _say(update, f"New patient ({leave})\nWhat is the patient's name?")
        return NAME
    await _say(update, f"Book an appointment ({leave})\n{_patient_question()}")
    return PATIENT


# Steps ------------------------------------------------------------------------------------------------------------
async def name_step(update: Update, context: ClinicContext) -> int:
    """The patient's name."""
    draft = _draft(context)
    name = " ".join((update.effective_message.text or "").split())
    if not name or len(name) > NAME_LIMIT or not any(ch.isalpha() for ch in name):
        await _say(update, f"Please send the patient's name: letters, at most {NAME_LIMIT} characters.")
        return NAME
    draft.name = name
    return await _next(update, context, draft, WHEN)


async def patient_step(update: Update, context: ClinicContext) -> int:
    """The patient's id (/appointment)."""
    draft = _draft(context)
    raw = (update.effective_message.text or "").strip().lstrip("#")
    if not re.fullmatch(r"[0-9]{1,9}", raw) or int(raw) < 1:
        await _say(update, f"{raw!r} is not a patient id. {_patient_question()}")
        return PATIENT
    draft.patient_id = int(raw)
    return await _next(update, context, draft, WHEN)


async def when_step(update: Update, context: ClinicContext) -> int:
    """The treatment's or the appointment's date and time (a typed time, or the Now button)."""
    draft = _draft(context)
    now = dt.datetime.now(dt.timezone.utc)
    if update.callback_query is not None:
        await _chose(update, "Now")
        when: Optional[dt.datetime] = now.replace(second=0, microsecond=0) if draft.kind == NEW_PATIENT else None
    else:
        when = parse_when(update.effective_message.text or "", now)
    if when is None:
        await _say(update, "Sorry, I could not read that time. " + _when_question(draft), _when_buttons(draft))
        return WHEN
    if draft.kind == NEW_PATIENT and when > now + FUTURE_TOLERANCE:
        await _say(
            update,
            f"{_format_time(when)} is in the future: send when the treatment was done "
            "(/appointment books a planned one). " + _when_question(draft),
            _when_buttons(draft),
        )
        return WHEN
    if draft.kind == APPOINTMENT and when <= now:
        await _say(
            update,
            f"{_format_time(when)} is not in the future: an appointment is booked ahead "
            "(/newpatient registers a treatment already done). " + _when_question(draft),
        )
        return WHEN
    draft.when = when
    return await _next(update, context, draft, AREA)


async def area_step(update: Update, context: ClinicContext) -> int:
    """The treated area (buttons, or typed)."""
    draft = _draft(context)
    area = await _picked(update, "area", AREAS)
    if area is None:
        await _say(update, "Please press Face or Scalp (or type face or scalp).", _option_buttons("area", AREAS))
        return AREA
    draft.area = area
    return await _next(update, context, draft, METHOD)


async def method_step(update: Update, context: ClinicContext) -> int:
    """The method (buttons, or typed)."""
    draft = _draft(context)
    method = await _picked(update, "method", METHODS)
    if method is None:
        await _say(
            update,
            "Please press Microneedling, Microinjection or Combined (or type one of them).",
            _option_buttons("method", METHODS),
        )
        return METHOD
    draft.method = method
    return await _next(update, context, draft, PRACTITIONER)


async def practitioner_step(update: Update, context: ClinicContext) -> int:
    """The treating practitioner (buttons: the active practitioners, the one asking first; or a name or id)."""
    draft = _draft(context)
    chosen = _choose_practitioner(update, draft)
    if chosen is None:
        await _say(update, "Please press one of the names (or type a name or an id).", _practitioner_buttons(draft))
        return PRACTITIONER
    if update.callback_query is not None:
        await _chose(update, chosen.name)
    draft.practitioner = chosen
    return await _next(update, context, draft, CONFIRM)


async def confirm_step(update: Update, context: ClinicContext) -> int:
    """Confirm (write it all) or Cancel (write nothing)."""
    draft = _draft(context)
    query = update.callback_query
    answer = (query.data.rpartition(":")[2] if query else (update.effective_message.text or "")).strip().lower()
    if answer in ("cancel", "no"):
        return await cancel(update, context)
    if answer not in ("confirm", "yes", "ok"):
        await _say(update, "Please press Confirm or Cancel.", _confirm_buttons())
        return CONFIRM
    if query is not None:
        await _chose(update, "Confirm")
    # The chat is checked again: a practitioner removed while the dialog was open writes nothing.
    member = await context.gateway.deps.staff.practitioner_for_chat(update.effective_chat.id)
    if member is None or member.id != draft.by.id:
        context.user_data.pop(DRAFT, None)
        await _say(update, texts.staff_only())
        return ConversationHandler.END
    onboarding = context.gateway.deps.onboarding
    try:
        if draft.kind == NEW_PATIENT:
            registered = await onboarding.register_patient(
                draft.name, draft.when, draft.area, draft.method, draft.practitioner.id, by=member.id
            )
        else:
            booked = await onboarding.book_appointment(
                draft.patient_id, draft.when, draft.area, draft.method, draft.practitioner.id, by=member.id
            )
    except RefusedAnswer as refusal:
        draft.confirming = True
        await _say(update, str(refusal))
        return await _ask(update, context, draft, PATIENT if refusal.field == "patient" else WHEN)
    except Refused as refusal:
        context.user_data.pop(DRAFT, None)
        await _say(update, f"{refusal}\nNothing was saved. Start again with {COMMAND[draft.kind]}.")
        return ConversationHandler.END
    context.user_data.pop(DRAFT, None)
    if draft.kind == NEW_PATIENT:
        await _hand_over_link(update, context, registered)
        log.info("practitioner %s registered patient %s from Telegram", member.id, registered.patient_id)
    else:
        log.info("practitioner %s booked appointment %s from Telegram", member.id, booked.appointment_id)
        await _say(
            update,
            f"Appointment #{booked.appointment_id} booked for patient #{booked.patient_id}: "
            f"{_format_time(booked.scheduled_at)}, {draft.area}, {draft.method}, with {draft.practitioner.name}.\n"
            f"The preparation guidance and screening questions go out "
            f"{context.gateway.settings.preparation_lead_days} day(s) before (at once if sooner), once the "
            "patient's chat is linked.",
        )
    return ConversationHandler.END


async def cancel(update: Update, context: ClinicContext) -> int:
    """Leave the dialog without writing anything: /cancel or the Cancel button."""
    context.user_data.pop(DRAFT, None)
    if update.callback_query is not None:
        await _chose(update, "Cancel")
    await _say(update, "Cancelled: nothing was saved.")
    return ConversationHandler.END


async def timed_out(update: Update, context: ClinicContext) -> None:
    """No answer for 15 minutes: the dialog ends, nothing written."""
    draft: Optional[Draft] = context.user_data.pop(DRAFT, None)
    command = COMMAND[draft.kind] if draft is not None else "/newpatient or /appointment"
    try:
        await context.bot.send_message(
            update.effective_chat.id, f"No answer for a while: nothing was saved. Start again with {command}."
        )
    except TelegramError as error:
        log.debug("could not say that the dialog timed out: %s", type(error).__name__)


# The handler --------------------------------------------------------------------------------------------------------
def conversation() -> ConversationHandler:
    """/newpatient and /appointment as one ConversationHandler (add it before the other command handlers)."""
    private = filters.ChatType.PRIVATE
    new = filters.UpdateType.MESSAGE & private
    text = new & filters.TEXT & ~filters.COMMAND

    def buttons(pattern: str, callback) -> CallbackQueryHandler:
        return CallbackQueryHandler(callback, pattern=rf"^{PREFIX}:{pattern}$")

    states: dict = {
        NAME: [MessageHandler(text, name_step)],
        PATIENT: [MessageHandler(text, patient_step)],
        WHEN: [MessageHandler(text, when_step), buttons("now", when_step)],
        AREA: [MessageHandler(text, area_step), buttons("area:[a-z]+", area_step)],
        METHOD: [MessageHandler(text, method_step), buttons("method:[a-z]+", method_step)],
        PRACTITIONER: [MessageHandler(text, practitioner_step), buttons("pr:[0-9]{1,12}", practitioner_step)],
        CONFIRM: [MessageHandler(text, confirm_step), buttons("(confirm|cancel)", confirm_step)],
        ConversationHandler.TIMEOUT: [TypeHandler(Update, timed_out)],
    }
    fallbacks: List[BaseHandler] = [CommandHandler("cancel", cancel, filters=new), buttons("cancel", cancel)]
    with warnings.catch_warnings():
        # PTB warns that with per_message=False a button press is tracked per chat, not per message: what we want
        # (the dialog is the chat's, and a button of an earlier question no longer matches the state's pattern).
        warnings.filterwarnings("ignore", category=PTBUserWarning, message=".*per_message.*")
        return ConversationHandler(
            entry_points=[
                CommandHandler("newpatient", new_patient, filters=new),
                CommandHandler("appointment", appointment, filters=new),
            ],
            states=states,
            fallbacks=fallbacks,
            allow_reentry=True,  # /newpatient again starts afresh
            conversation_timeout=TIMEOUT.total_seconds(),
        )


# Questions ----------------------------------------------------------------------------------------------------------
async def _next(update: Update, context: ClinicContext, draft: Draft, step: int) -> int:
    """Ask the next question; after a re-ask at Confirm, straight back to the summary."""
    return await _ask(update, context, draft, CONFIRM if draft.confirming else step)


async def _ask(update: Update, context: ClinicContext, draft: Draft, step: int) -> int:
    if step == WHEN:
        await _say(update, _when_question(draft), _when_buttons(draft))
    elif step == PATIENT:
        await _say(update, _patient_question())
    elif step == AREA:
        await _say(update, "Which area?", _option_buttons("area", AREAS))
    elif step == METHOD:
        await _say(update, "Which method?", _option_buttons("method", METHODS))
    elif step == PRACTITIONER:
        draft.choices = _asker_first(await context.gateway.deps.onboarding.practitioners(), draft.by)
        await _say(update, "Who is the treating practitioner?", _practitioner_buttons(draft))
    elif step == CONFIRM:
        await _say(update, _summary(draft), _confirm_buttons())
    return step


def _patient_question() -> str:
    return "Which patient? Send their patient id (a number, as in /patient 12)."


def _when_question(draft: Draft) -> str:
    if draft.kind == NEW_PATIENT:
        return (
            "When was the treatment? Press Now, or send the date and time (clinic time, UTC) like "
            "2026-11-27 14:30, today 14:30, yesterday 9:00 or 14:30."
        )
    return "When is the appointment? Send the date and time (clinic time, UTC) like 2026-12-03 10:00 or tomorrow 10:00."


def _when_buttons(draft: Draft) -> Optional[InlineKeyboardMarkup]:
    if draft.kind != NEW_PATIENT:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton("Now", callback_data=f"{PREFIX}:now")]])


def _option_buttons(what: str, options: Sequence[str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(option.capitalize(), callback_data=f"{PREFIX}:{what}:{option}") for option in options]]
    )


def _practitioner_buttons(draft: Draft) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                f"{person.name} (you)" if person.id == draft.by.id else person.name,
                callback_data=f"{PREFIX}:pr:{person.id}",
            )
        ]
        for person in draft.choices
    ]
    return InlineKeyboardMarkup(rows)


def _confirm_buttons() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Confirm", callback_data=f"{PREFIX}:confirm"),
                InlineKeyboardButton("Cancel", callback_data=f"{PREFIX}:cancel"),
            ]
        ]
    )


def _summary(draft: Draft) -> str:
    if draft.kind == NEW_PATIENT:
        lines = ["Please check the new patient:", f"Name: {draft.name}", f"Treatment: {_format_time(draft.when)}"]
    else:
        lines = ["Please check the appointment:", f"Patient: #{draft.patient_id}", f"When: {_format_time(draft.when)}"]
    lines += [f"Area: {draft.area}", f"Method: {draft.method}", f"Practitioner: {draft.practitioner.name}"]
    return "\n".join(lines)


# Answers ------------------------------------------------------------------------------------------------------------
async def _picked(update: Update, what: str, options: Sequence[str]) -> Optional[str]:
    """The option pressed (callback data onb:<what>:<option>) or typed (a whole word, any case), else None."""
    query = update.callback_query
    if query is not None:
        choice = (query.data or "").rpartition(":")[2]
        if choice not in options:
            await query.answer()
            return None
        await _chose(update, choice.capitalize())
        return choice
    typed = (update.effective_message.text or "").strip().lower()
    return typed if typed in options else None


def _choose_practitioner(update: Update, draft: Draft) -> Optional[StaffMember]:
    query = update.callback_query
    if query is not None:
        raw = (query.data or "").rpartition(":")[2]
        return next((person for person in draft.choices if str(person.id) == raw), None)
    typed = " ".join((update.effective_message.text or "").lower().split())
    if typed in ("me", "myself", "you"):
        return next((person for person in draft.choices if person.id == draft.by.id), None)
    matches = [person for person in draft.choices if typed in (str(person.id), person.name.lower())]
    return matches[0] if len(matches) == 1 else None


def _asker_first(people: Sequence[StaffMember], asker: StaffMember) -> List[StaffMember]:
    """The active practitioners, the one asking first (the default); the asker even if the list missed them."""
    others = [person for person in people if person.id != asker.id]
    return [asker, *others]


_WHEN = re.compile(
    r"(?:(?P<day>today|yesterday|tomorrow)|(?P<date>[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}))?"
    r"[ t]*(?:at )?(?P<hour>[0-9]{1,2})[:.](?P<minute>[0-9]{2})"
)
_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1}


def parse_when(text: str, now: dt.datetime) -> Optional[dt.datetime]:
    """A date and time typed by staff, in clinic time (UTC): "2026-11-27 14:30" (or 2026-11-27T14:30),
    "today 14:30", "yesterday 9:00", "tomorrow 10:00", "14:30" (today) or "now". None if it cannot be read."""
    words = " ".join(text.strip().lower().split())
    if words == "now":
        return now.replace(second=0, microsecond=0)
    match = _WHEN.fullmatch(words)
    if match is None:
        return None
    hour, minute = int(match["hour"]), int(match["minute"])
    if hour > 23 or minute > 59:
        return None
    if match["date"]:
        try:
            day = dt.date(*(int(part) for part in match["date"].split("-")))
        except ValueError:
            return None
    else:
        day = now.astimezone(dt.timezone.utc).date() + dt.timedelta(days=_DAYS[match["day"] or "today"])
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.timezone.utc)


# Sending ------------------------------------------------------------------------------------------------------------
async def _hand_over_link(update: Update, context: ClinicContext, registered) -> None:
    """The patient's link as text and as a QR code picture to scan at the desk (the code itself is never logged)."""
    link = deep_link(context.gateway.settings.telegram_bot_username, registered.link_code)
    expires = _format_time(registered.link_expires_at)
    await _say(
        update,
        f"Patient #{registered.patient_id} {registered.display_name} registered (treatment "
        f"#{registered.treatment_id}; check-ins scheduled).\n"
        f"Their link (one use, expires {expires}):\n{link}\n"
        "They scan the QR code below with their phone's camera, or open the link, and press Start.",
    )
    await context.bot.send_photo(
        update.effective_chat.id,
        qr_png(link),
        caption=f"{registered.display_name}: scan to link your Telegram with the clinic (one use, expires {expires})",
    )


async def _say(update: Update, text: str, buttons: Optional[InlineKeyboardMarkup] = None) -> None:
    await update.get_bot().send_message(update.effective_chat.id, text, reply_markup=buttons)


async def _chose(update: Update, label: str) -> None:
    """A button was pressed: stop its spinner and show the choice in place of the buttons."""
    query = update.callback_query
    await query.answer()
    try:
        await query.edit_message_reply_markup(
            # staff.done_button answers a press on it ("nothing left to do here")
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(f"✔️ {label}", callback_data=f"{DONE}:0")]])
        )
    except BadRequest as error:  # too old to edit, or pressed twice: the choice is taken all the same
        log.debug("question's buttons not updated: %s", error)


def _draft(context: ClinicContext) -> Draft:
    return context.user_data[DRAFT]


def _format_time(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.timezone.utc):%d %b %Y %H:%M} UTC"


__all__: Tuple[str, ...] = ("conversation", "parse_when", "new_patient", "appointment", "cancel")
