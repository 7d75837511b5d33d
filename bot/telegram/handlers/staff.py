"""Handlers for practitioners: the Acknowledge / Resolve buttons under alerts, and /open, /patient, /resolve
(/newpatient and /appointment are dialogs: bot/telegram/handlers/onboarding.py).

Only chats registered as a practitioner's (StaffDirectory) may use any of this; everybody else is refused
without learning whether an escalation or patient exists.
"""

from __future__ import annotations

import logging
from typing import Optional

from telegram import BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import MessageLimit
from telegram.error import BadRequest, TelegramError

from bot.ids import BadId, parse_id
from bot.telegram import texts
from bot.telegram.context import ClinicContext
from bot.telegram.ports import EscalationOutcome, Refused, StaffMember
from bot.telegram.sending import shorten, split_text

log = logging.getLogger(__name__)

# Callback data (the notifier's alerts carry the first two; see bot/escalation/alerts.py action_buttons).
ACK, RESOLVE, DONE = "ack", "resolve", "done"
# ASCII digits only ([0-9], not \d, which also matches other scripts' digits); parse_id checks the range.
ALERT_BUTTON_PATTERN = r"^(ack|resolve):[0-9]{1,20}$"
DONE_BUTTON_PATTERN = r"^done:[0-9]{1,20}$"


# The command menu of a practitioner's chat (the patients' menu is the bot's default, bot.telegram.app).
STAFF_COMMANDS = [
    BotCommand("open", "Escalations not resolved yet"),
    BotCommand("patient", "A patient's summary and photos: /patient ID"),
    BotCommand("resolve", "Close an escalation: /resolve ID note"),
    BotCommand("newpatient", "Register a patient and get their link and QR code"),
    BotCommand("appointment", "Book a planned treatment"),
    BotCommand("cancel", "Leave /newpatient or /appointment without saving"),
    BotCommand("help", "What I can do"),
]


async def show_staff_menu(update: Update, context: ClinicContext) -> None:
    """Give this practitioner's chat the staff command menu (best effort: the commands work without it)."""
    try:
        await context.bot.set_my_commands(STAFF_COMMANDS, scope=BotCommandScopeChat(update.effective_chat.id))
    except TelegramError as error:
        log.debug("could not set the staff command menu: %s", type(error).__name__)


async def alert_button(update: Update, context: ClinicContext) -> None:
    """Acknowledge or resolve an escalation from the buttons under an alert."""
    query = update.callback_query
    member = await context.gateway.deps.staff.practitioner_for_chat(update.effective_chat.id)
    if member is None:
        log.warning("alert button pressed in a chat that is not a practitioner's: refused")
        await query.answer(texts.staff_only(), show_alert=True)
        return
    action, _, raw_id = (query.data or "").partition(":")
    try:
        escalation_id = parse_id(raw_id, "escalation id")  # forged callback data: refused like a typed id
    except BadId as error:
        await query.answer(str(error)[:200], show_alert=True)
        return
    escalations = context.gateway.deps.escalations
    try:
        if action == ACK:
            outcome = await escalations.acknowledge(escalation_id, member.id)
        else:
            outcome = await escalations.resolve(escalation_id, member.id)
    except Refused as refusal:
        await query.answer(str(refusal)[:200], show_alert=True)
        return
    log.info("practitioner %s: %s on escalation %s (changed=%s)", member.id, action, escalation_id, outcome.changed)
    await query.answer(_answer_text(outcome))
    try:
        await query.edit_message_reply_markup(reply_markup=state_keyboard(outcome))
    except BadRequest as error:
        # "message is not modified": the buttons already show this state (pressed twice). Anything else
        # (message too old to edit, deleted) is also harmless: the state change itself has been recorded.
        log.debug("alert buttons not updated: %s", error)


async def done_button(update: Update, context: ClinicContext) -> None:
    """The state label buttons ("Acknowledged by …") have nothing left to do."""
    await update.callback_query.answer("Nothing left to do here.")


async def open_command(update: Update, context: ClinicContext) -> None:
    """List the escalations that are not resolved yet."""
    member = await _practitioner(update, context)
    if member is None:
        return
    lines = await context.gateway.deps.escalations.open_escalations(member.id)
    if not lines:
        await update.effective_message.reply_text(texts.nothing_open())
        return
    rows = [
        f"E{line.escalation_id} · {line.level.upper()} · {line.state} · {line.patient_name} "
        f"(patient {line.patient_id}) · {line.created_at:%d %b %H:%M} UTC"
        for line in lines
    ]
    text = "Open escalations:\n" + "\n".join(rows) + "\n\n/patient ID for details, /resolve ID note to close."
    for piece in split_text(text):
        await update.effective_message.reply_text(piece)


async def patient_command(update: Update, context: ClinicContext) -> None:
    """Show a patient's summary: /patient ID."""
    member = await _practitioner(update, context)
    if member is None:
        return
    args = context.args or []
    if len(args) != 1:
        await update.effective_message.reply_text(texts.staff_usage("patient"))
        return
    patient_id = await _parse_or_explain(update, args[0], "patient id", "patient")
    if patient_id is None:
        return
    try:
        # The read goes to the audit trail (who, which patient, when) in the store adapter (bot.bootstrap.gateway).
        summary = await context.gateway.deps.escalations.patient_summary(patient_id, member.id)
    except Refused as refusal:
        await update.effective_message.reply_text(str(refusal))
        return
    for piece in split_text(summary):
        await update.effective_message.reply_text(piece)
    await _send_patient_photos(update, context, patient_id, member)


async def _send_patient_photos(update: Update, context: ClinicContext, patient_id: int, member: StaffMember) -> None:
    """The patient's photos after the summary, by Telegram file id (Telegram still has them; nothing downloaded)."""
    try:
        photos = await context.gateway.deps.escalations.patient_photos(patient_id, member.id)
    except Refused as refusal:
        await update.effective_message.reply_text(str(refusal))
        return
    chat_id = update.effective_chat.id
    for number, photo in enumerate(photos, 1):
        caption = f"Patient #{patient_id} · photo {number} of {len(photos)} · {photo.received_at:%d %b %H:%M} UTC"
        if photo.caption:
            caption += f"\n{photo.caption}"
        try:
            await context.bot.send_photo(chat_id, photo.file_id, caption=shorten(caption, MessageLimit.CAPTION_LENGTH))
        except TelegramError as error:  # a file id Telegram no longer knows: the rest still go
            log.warning(
                "photo %s of %s for patient %s not sent: %s", number, len(photos), patient_id, type(error).__name__
            )
            await update.effective_message.reply_text(texts.photo_unavailable(number))


async def resolve_command(update: Update, context: ClinicContext) -> None:
    """Close an escalation with a note: /resolve ID note."""
    member = await _practitioner(update, context)
    if member is None:
        return
    args = context.args or []
    if not args:
        await update.effective_message.reply_text(texts.staff_usage("resolve"))
        return
    escalation_id = await _parse_or_explain(update, args[0], "escalation id", "resolve")
    if escalation_id is None:
        return
    note = " ".join(args[1:]) or None
    try:
        outcome = await context.gateway.deps.escalations.resolve(escalation_id, member.id, note)
    except Refused as refusal:
        await update.effective_message.reply_text(str(refusal))
        return
    log.info(
        "practitioner %s resolved escalation %s by command (changed=%s)", member.id, escalation_id, outcome.changed
    )
    await update.effective_message.reply_text(_answer_text(outcome))


# --- helpers -------------------------------------------------------------------------------------------------
async def _parse_or_explain(update: Update, raw: str, what: str, command: str) -> Optional[int]:
    """The id typed after a staff command, or None after replying what is wrong with it and how to write it
    ("²", "1.5", "-3", an empty or a 20-digit number: bot.ids.parse_id)."""
    try:
        return parse_id(raw, what)
    except BadId as error:
        await update.effective_message.reply_text(f"{error}\n{texts.staff_usage(command)}")
        return None


async def _practitioner(update: Update, context: ClinicContext) -> Optional[StaffMember]:
    member = await context.gateway.deps.staff.practitioner_for_chat(update.effective_chat.id)
    if member is None:
        log.warning("staff command from a chat that is not a practitioner's: refused")
        await update.effective_message.reply_text(texts.staff_only())
    return member


def _answer_text(outcome: EscalationOutcome) -> str:
    who = f" by {outcome.by_name}" if outcome.by_name else ""
    if outcome.state == "resolved":
        return f"E{outcome.escalation_id} resolved{who}." if outcome.changed else f"Already resolved{who}."
    if outcome.state == "acknowledged":
        return f"E{outcome.escalation_id} acknowledged." if outcome.changed else f"Already acknowledged{who}."
    return f"E{outcome.escalation_id} is {outcome.state}."


def state_keyboard(outcome: EscalationOutcome) -> InlineKeyboardMarkup:
    """The alert's buttons for the escalation's new state, so everyone can see at a glance what happened."""
    eid, who = outcome.escalation_id, f" · {outcome.by_name}" if outcome.by_name else ""
    if outcome.state == "resolved":
        return InlineKeyboardMarkup([[InlineKeyboardButton(f"✔️ Resolved{who}", callback_data=f"{DONE}:{eid}")]])
    if outcome.state == "acknowledged":
        return InlineKeyboardMarkup(
            [
                [InlineKeyboardButton(f"✅ Acknowledged{who}", callback_data=f"{DONE}:{eid}")],
                [InlineKeyboardButton("Resolve", callback_data=f"{RESOLVE}:{eid}")],
            ]
        )
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Acknowledge", callback_data=f"{ACK}:{eid}"),
                InlineKeyboardButton("Resolve", callback_data=f"{RESOLVE}:{eid}"),
            ]
        ]
    )
