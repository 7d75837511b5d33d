"""Handlers for patients' chats: linking (/start CODE), commands, and relaying what they write to Rasa.

Privacy rules followed here: a chat that is not linked to a patient record gets a general explanation and
never any patient data; logs at INFO name patients by id only and never contain what anyone wrote.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Dict, List, Optional, Sequence, Tuple

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError

from bot.telegram import texts
from bot.telegram.context import ClinicContext
from bot.telegram.handlers import staff
from bot.telegram.ports import LinkedPatient, Refused, RelayAttempt
from bot.telegram.rasa import RasaReply, RasaUnavailable, sender_id
from bot.telegram.sending import shorten, split_text, typing_indicator
from bot.triage.screen import screen

log = logging.getLogger(__name__)

# Longer messages are cut before relaying to Rasa: the NLU is trained on short messages, and a wall of text is
# better read by a human (the patient is told to split it). They are screened whole first: see _relay.
MAX_RELAY_CHARS = 1000

# Callback data of Rasa's buttons: "rasa:<payload>" when it fits Telegram's 64-byte limit, otherwise
# "rasa#<n>" with the payload kept in chat_data (lost on restart: the patient is asked to type instead).
RASA_BUTTON = "rasa:"
RASA_STORED_BUTTON = "rasa#"
_STORED_KEY = "rasa_payloads"
_STORED_MAX = 50
_CALLBACK_DATA_LIMIT = 64

# Message content we cannot read, in the order they are checked (the first one present names the kind).
_ATTACHMENT_KINDS = (
    "voice",
    "audio",
    "video_note",
    "video",
    "sticker",
    "animation",
    "document",
    "location",
    "venue",
    "contact",
    "poll",
    "dice",
)


async def start(update: Update, context: ClinicContext) -> None:
    """Greet, give the disclaimer and, with the code from the clinic's link (/start CODE), link the chat."""
    gateway, message = context.gateway, update.effective_message
    chat_id = update.effective_chat.id
    member = await gateway.deps.staff.practitioner_for_chat(chat_id)
    if member is not None:
        await message.reply_text(texts.staff_help(member.name))
        return
    # The disclaimer comes first, every time: it is the first thing a new patient must read.
    await message.reply_text(texts.disclaimer(gateway.settings))
    code = context.args[0] if context.args else None
    if code:
        try:
            name = await gateway.deps.links.redeem(code, chat_id)
        except Refused as refusal:
            log.info("link code refused for a chat")
            await message.reply_text(texts.link_refused(str(refusal), gateway.settings))
            return
        log.info("chat linked to a patient record")
        await message.reply_text(texts.linked(name))
        return
    patient = await gateway.deps.links.patient_for_chat(chat_id)
    if patient is None:
        await message.reply_text(texts.not_linked(gateway.settings))
    else:
        await message.reply_text(texts.welcome_back(patient.display_name))


async def help_command(update: Update, context: ClinicContext) -> None:
    """Explain what the bot does (staff get the staff commands)."""
    gateway = context.gateway
    member = await gateway.deps.staff.practitioner_for_chat(update.effective_chat.id)
    if member is not None:
        await update.effective_message.reply_text(texts.staff_help(member.name))
        await staff.show_staff_menu(update, context)
    else:
        await update.effective_message.reply_text(texts.patient_help(gateway.settings))


async def stop_command(update: Update, context: ClinicContext) -> None:
    """Pause scheduled check-ins for this patient."""
    patient = await _patient_or_explain(update, context)
    if patient is not None:
        await context.gateway.deps.checkins.pause(patient.id)
        log.info("check-ins paused for patient %s", patient.id)
        await update.effective_message.reply_text(texts.paused())


async def resume_command(update: Update, context: ClinicContext) -> None:
    """Turn scheduled check-ins back on."""
    patient = await _patient_or_explain(update, context)
    if patient is not None:
        await context.gateway.deps.checkins.resume(patient.id)
        log.info("check-ins resumed for patient %s", patient.id)
        await update.effective_message.reply_text(texts.resumed())


async def text_message(update: Update, context: ClinicContext) -> None:
    """Relay a linked patient's text to Rasa and send Rasa's replies back."""
    patient = await _patient_or_explain(update, context)
    if patient is None:
        return
    message = update.effective_message
    await _relay(context, update.effective_chat.id, message, patient, message.text or "")


async def photo_message(update: Update, context: ClinicContext) -> None:
    """Keep a photo for the practitioner; its caption, if any, is read like a text message."""
    patient = await _patient_or_explain(update, context)
    if patient is None:
        return
    message = update.effective_message
    largest = message.photo[-1]  # Telegram lists the sizes smallest first
    caption = message.caption or None
    await context.gateway.deps.photos.attach(patient.id, largest.file_id, caption)
    log.info("photo stored for patient %s", patient.id)
    await message.reply_text(texts.photo_saved())
    if caption and caption.strip():
        await _relay(context, update.effective_chat.id, message, patient, caption)


async def not_text(update: Update, context: ClinicContext) -> None:
    """Answer stickers, voice notes, documents, locations and the like: ask for words instead."""
    patient = await _patient_or_explain(update, context)
    if patient is None:
        return
    message = update.effective_message
    kind = next((name for name in _ATTACHMENT_KINDS if getattr(message, name, None)), "other")
    log.info("unreadable %s message from patient %s", kind, patient.id)
    await message.reply_text(texts.text_only(kind))


async def edited_message(update: Update, context: ClinicContext) -> None:
    """Edits are not re-read (the first version may already have been triaged): ask for a new message."""
    patient = await _patient_or_explain(update, context)
    if patient is not None:
        await update.effective_message.reply_text(texts.edited())


async def unknown_command(update: Update, context: ClinicContext) -> None:
    """Point to /help for commands the bot does not have."""
    await update.effective_message.reply_text(texts.unknown_command())


async def rasa_button(update: Update, context: ClinicContext) -> None:
    """Relay the payload of a pressed Rasa button back to Rasa, as if the patient had typed it."""
    query = update.callback_query
    payload = decode_button(query.data or "", context.chat_data)
    if payload is None:
        await query.answer(texts.button_expired(), show_alert=True)
        return
    patient = await context.gateway.deps.links.patient_for_chat(update.effective_chat.id)
    if patient is None:
        await query.answer(texts.not_linked_short(), show_alert=True)
        return
    await query.answer()
    message = query.message if isinstance(query.message, Message) else None
    title = _button_title(message, query.data) or payload
    if message is not None:
        await _show_choice(message, title)
    message_id = message.message_id if message else 0
    await _converse(context, update.effective_chat.id, message_id, patient, payload, title)


async def unknown_button(update: Update, context: ClinicContext) -> None:
    """Buttons from an older version of the bot, or otherwise unrecognised: say so."""
    await update.callback_query.answer(texts.button_expired(), show_alert=True)


# --- helpers -------------------------------------------------------------------------------------------------
async def _patient_or_explain(update: Update, context: ClinicContext) -> Optional[LinkedPatient]:
    """The linked patient, or None after telling an unlinked chat how to get linked.

    Practitioners are not patients: whatever they send here (free text, a photo...) gets the staff help.
    """
    chat_id = update.effective_chat.id
    member = await context.gateway.deps.staff.practitioner_for_chat(chat_id)
    if member is not None:
        await update.effective_message.reply_text(texts.staff_help(member.name))
        return None
    patient = await context.gateway.deps.links.patient_for_chat(chat_id)
    if patient is None:
        log.info("message from an unlinked chat")
        await update.effective_message.reply_text(texts.not_linked(context.gateway.settings))
    return patient


async def _relay(context: ClinicContext, chat_id: int, message: Message, patient: LinkedPatient, text: str) -> None:
    """Relay a patient's words to Rasa; a long text is screened whole before it is cut.

    Rasa reads at most MAX_RELAY_CHARS (the patient is told). The raw red-flag screen reads the whole text first:
    when the part Rasa would not see has a red-flag word, the whole text goes to the triage safety net instead
    (our spaCy pipeline and the triage core, which record and escalate), so a warning sign at the end of a long
    message is never cut off. The safety net and the answer check always get the whole text."""
    if len(text) <= MAX_RELAY_CHARS:
        await _converse(context, chat_id, message.message_id, patient, text, text)
        return
    short = shorten(text, MAX_RELAY_CHARS)
    await message.reply_text(texts.truncated(MAX_RELAY_CHARS))
    if red_flags_past_cut(text, short):
        log.warning("patient %s: a long message has red-flag words past the cut: triaged whole", patient.id)
        if await _triage_whole(context, chat_id, patient, text):
            return
    await _converse(context, chat_id, message.message_id, patient, short, text)


# The cut may fall inside a phrase ("short of | breath"): the part after it is screened with this much before it.
_CUT_OVERLAP = 100


def red_flags_past_cut(text: str, short: str) -> bool:
    """True when the raw keyword screen finds a red-flag word in the part of `text` that its shortened form `short`
    leaves out, or in a phrase that the cut runs through (the screen's phrases are shorter than the overlap)."""
    kept = len(short.rstrip("…"))
    return bool(screen(text[max(0, kept - _CUT_OVERLAP) :]))


async def _triage_whole(context: ClinicContext, chat_id: int, patient: LinkedPatient, text: str) -> bool:
    """Triage the whole text with the safety net and send its advice; False when it had nothing to say (then the
    shortened text goes to Rasa as usual)."""
    gateway = context.gateway
    try:
        advice = list(await gateway.deps.fallback(patient.id, text, None))
    except Exception:
        log.exception("the triage safety net failed on a long message for patient %s", patient.id)
        advice = []
        failed = True
    else:
        failed = False
    if not advice and not failed:
        return False
    if gateway.deps.answered is not None:
        gateway.deps.answered()  # the alert it queued goes out now
    for piece in advice:
        await _send_text(context, chat_id, piece)
    if failed:
        await _send_text(context, chat_id, texts.rasa_down(gateway.settings))
    return True


async def _converse(
    context: ClinicContext,
    chat_id: int,
    message_id: int,
    patient: LinkedPatient,
    message: str,
    fallback_text: str,
) -> None:
    """Send `message` to Rasa (typing… shown meanwhile) and deliver the answer; fall back if Rasa fails.

    Rasa fails when it is unreachable, answers an HTTP error or nonsense, times out, answers with no message
    (what it does when an action fails, e.g. the action server is down), or answers a message whose words escalate
    without its triage having recorded it (deps.answer_check: with the action server down, the first message of a
    session gets Rasa's fallback utterance). Then the safety net triages the text itself, records and escalates
    (unless Rasa's action recorded this message before failing: RelayAttempt), and the patient is told to call
    the clinic for anything urgent."""
    gateway = context.gateway
    replies: Optional[List[RasaReply]] = None
    fallback: List[str] = []
    async with typing_indicator(context.bot, chat_id):
        sent_at = dt.datetime.now(dt.timezone.utc)
        try:
            replies = await gateway.rasa.send(
                sender_id(patient.id),
                message,
                # /start already said the bot is automated and how to reach people: Rasa need not repeat it.
                {"chat_id": chat_id, "message_id": message_id, "disclaimer_shown": True},
            )
            log.info("relayed a message for patient %s to Rasa (%d replies)", patient.id, len(replies))
            if gateway.deps.answer_check is not None and not await gateway.deps.answer_check(
                patient.id, fallback_text, RelayAttempt(message, sent_at)
            ):
                replies = None
                raise RasaUnavailable("Rasa answered, but did not triage a red flag", reached=True)
        except RasaUnavailable as error:
            log.warning("Rasa failed (%s): using the triage fallback for patient %s", error, patient.id)
            attempt = RelayAttempt(message, sent_at, error.timed_out) if error.reached else None
            try:
                fallback = list(await gateway.deps.fallback(patient.id, fallback_text, attempt))
            except Exception:
                # The patient must still hear "call the clinic" below, so this is logged, not raised.
                log.exception("the triage fallback failed for patient %s", patient.id)
    if gateway.deps.answered is not None:
        gateway.deps.answered()  # before our replies go out: the practitioner's alert must not wait behind them
    if replies is None:
        for text in fallback:
            await _send_text(context, chat_id, text)
        await _send_text(context, chat_id, texts.rasa_down(gateway.settings))
        return
    for reply in replies:
        await _send_rasa_reply(context, chat_id, reply)


async def _send_text(
    context: ClinicContext, chat_id: int, text: str, markup: Optional[InlineKeyboardMarkup] = None
) -> None:
    pieces = split_text(text) or ["…"]
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        await context.bot.send_message(chat_id, piece, reply_markup=markup if last else None)


async def _send_rasa_reply(context: ClinicContext, chat_id: int, reply: RasaReply) -> None:
    markup = rasa_keyboard(reply.buttons, context.chat_data) if reply.buttons else None
    if reply.text or markup:
        await _send_text(context, chat_id, reply.text or "Please choose:", markup)
    if reply.image:
        try:
            await context.bot.send_photo(chat_id, reply.image)
        except BadRequest as error:  # Telegram could not fetch the picture: the text has been sent anyway
            log.warning("could not send an image from Rasa: %s", error)


def rasa_keyboard(buttons: Sequence[Tuple[str, str]], chat_data: Optional[Dict]) -> InlineKeyboardMarkup:
    """One button per row (titles can be long), each carrying its Rasa payload."""
    rows = [
        [InlineKeyboardButton(title, callback_data=encode_button(payload, chat_data))] for title, payload in buttons
    ]
    return InlineKeyboardMarkup(rows)


def encode_button(payload: str, chat_data: Optional[Dict]) -> str:
    data = RASA_BUTTON + payload
    if len(data.encode()) <= _CALLBACK_DATA_LIMIT:
        return data
    if chat_data is None:  # not expected in a chat; such a button will answer "expired"
        return RASA_STORED_BUTTON + "0"
    stored: Dict[str, str] = chat_data.setdefault(_STORED_KEY, {})
    key = str(max((int(k) for k in stored), default=0) + 1)
    stored[key] = payload
    for old in sorted(stored, key=int)[:-_STORED_MAX]:  # keep the latest few only
        del stored[old]
    return RASA_STORED_BUTTON + key


def decode_button(data: str, chat_data: Optional[Dict]) -> Optional[str]:
    if data.startswith(RASA_BUTTON):
        return data[len(RASA_BUTTON) :] or None
    if data.startswith(RASA_STORED_BUTTON) and chat_data is not None:
        return chat_data.get(_STORED_KEY, {}).get(data[len(RASA_STORED_BUTTON) :])
    return None


def _button_title(message: Optional[Message], data: Optional[str]) -> Optional[str]:
    if message is None or message.reply_markup is None:
        return None
    for row in message.reply_markup.inline_keyboard:
        for button in row:
            if button.callback_data == data:
                return button.text
    return None


async def _show_choice(message: Message, title: str) -> None:
    """Write the chosen answer under the question and remove the buttons, so it can't be answered twice."""
    try:
        if message.text:
            await message.edit_text(f"{message.text}\n\n› {title}", reply_markup=None)
        else:
            await message.edit_reply_markup(reply_markup=None)
    except TelegramError as error:  # cosmetic; the answer is relayed anyway
        log.debug("could not mark the chosen button: %s", error)
