"""The one error handler: log first, then tell the person something went wrong and how to reach the clinic."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Conflict, Forbidden, NetworkError, TelegramError

from bot.telegram import texts
from bot.telegram.context import ClinicContext

log = logging.getLogger(__name__)


def describe(update: object) -> str:
    """What kind of update failed, without its content (which may be a patient's symptoms)."""
    if not isinstance(update, Update):
        return type(update).__name__ if update is not None else "no update"
    kind = next((name for name in ("message", "edited_message", "callback_query") if getattr(update, name)), "other")
    return f"update {update.update_id} ({kind})"


async def error_handler(update: object, context: ClinicContext) -> None:
    """Log the error (never the message text), then tell the user to phone the clinic if it can't wait."""
    if update is None and isinstance(context.error, (NetworkError, Conflict)):
        # Polling trouble (Telegram unreachable, or a second bot instance polling): PTB retries by itself.
        log.warning("Polling Telegram failed, retrying: %s", context.error)
        return
    # The traceback goes to the log at ERROR; the update itself is not logged because it holds what the
    # patient wrote.
    log.error("Error while handling %s", describe(update), exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return  # e.g. a network error while polling: nobody to tell
    if isinstance(context.error, Forbidden):
        return  # the user blocked the bot: we can't tell them anything
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()  # stop the button's spinner
    except TelegramError:
        pass  # already answered, or too old: not worth another error
    try:
        await context.bot.send_message(update.effective_chat.id, texts.something_went_wrong(context.gateway.settings))
    except TelegramError as error:
        log.warning("could not tell the user about the error: %s", type(error).__name__)
