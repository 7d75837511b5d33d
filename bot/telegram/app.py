"""The Telegram gateway's application: `build_application(settings, deps)`.

The PTB Application (token, Bot API base URL, defaults, rate limiter, update ordering), the handlers and the Rasa
client are put together here, over the ports (`deps`) that the composition root builds
(bot.bootstrap.gateway.gateway_deps) or the in-memory demo records. Run it with bot.run.gateway:

    python -m bot.run.gateway             # polling (default) or webhook, from .env / the environment
    python -m bot.run.gateway --demo      # in-memory records (link code DEMO, practitioner chat 2001):
                                          # try it offline against `python -m devtools.telegram_standin`
    make run                              # bot.run.launcher calls bot.run.gateway.main(settings) when
                                          # TELEGRAM_BOT_TOKEN is set
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sys
from typing import Any, Dict, Optional, Set
from urllib.parse import urlparse

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bot.settings import DEFAULT_BOT_API_BASE_URL, Settings
from bot.telegram import texts
from bot.telegram.context import ClinicContext, Gateway, attach_gateway
from bot.telegram.handlers import errors, onboarding, patient, staff
from bot.telegram.ordering import FairUpdateProcessor
from bot.telegram.ports import GatewayDeps
from bot.telegram.rasa import RasaClient
from bot.telegram.sending import ClinicRateLimiter
from bot.triage.screen import screen

log = logging.getLogger(__name__)
BACKGROUND_KEY = "background_task"

# Only what the handlers use: Telegram then does not even send the rest.
ALLOWED_UPDATES = [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY]

PATIENT_COMMANDS = [
    BotCommand("start", "Start, or link this chat with your clinic link"),
    BotCommand("help", "What I can do"),
    BotCommand("stop", "Pause check-in messages"),
    BotCommand("resume", "Turn check-in messages back on"),
]


def build_application(
    settings: Settings,
    deps: GatewayDeps,
    *,
    rate_limiter: Optional[BaseRateLimiter] = None,
    update_processor: Optional[FairUpdateProcessor] = None,
) -> Application:
    """A ready-to-start PTB Application for these settings and ports (not initialized, not running).

    `rate_limiter` and `update_processor` replace the defaults (Telegram's sending limits; the fair inbound
    processor with its default limits): tests that push thousands of updates use looser ones."""
    settings.require_telegram()
    processor = update_processor if update_processor is not None else FairUpdateProcessor()
    application = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(file_base_url(settings.telegram_api_base_url))
        .defaults(
            Defaults(
                tzinfo=dt.timezone.utc,
                # Plain text everywhere (no parse_mode): patients' and Rasa's words can't break the formatting.
                # No link previews: a clinic URL in a reply should not unfold into a big card.
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                do_quote=False,
            )
        )
        .context_types(ContextTypes(context=ClinicContext))
        .rate_limiter(rate_limiter if rate_limiter is not None else ClinicRateLimiter())
        .concurrent_updates(processor)
        .post_init(_on_startup)
        .post_stop(stop_background)
        .post_shutdown(_on_shutdown)
        .build()
    )
    attach_gateway(application, Gateway(settings, deps, RasaClient(settings.rasa_urls, settings.rasa_timeout_seconds)))
    wire_fairness(application, processor, deps)
    register_handlers(application)
    return application


def wire_fairness(application: Application, processor: FairUpdateProcessor, deps: GatewayDeps) -> None:
    """Give the fair processor what it needs from the gateway: who is staff, the red-flag screen, and how to tell
    a chat over its limits to slow down."""
    if processor.is_staff is None:

        async def is_staff(chat_id: int) -> bool:
            return await deps.staff.practitioner_for_chat(chat_id) is not None

        processor.is_staff = is_staff
    if processor.red_flag is None:
        processor.red_flag = lambda text: bool(screen(text))
    if processor.on_dropped is None:
        tasks: Set[asyncio.Task] = set()

        def on_dropped(update: Update, notify: bool) -> None:
            task = asyncio.get_running_loop().create_task(_answer_dropped(application, update, notify))
            tasks.add(task)  # keep a reference until it is done
            task.add_done_callback(tasks.discard)

        processor.on_dropped = on_dropped


async def _answer_dropped(application: Application, update: Update, notify: bool) -> None:
    """A dropped button press gets its spinner stopped; a dropped message's chat is told (once a minute, in a
    private chat only) to slow down. Best effort: a chat that floods us may also have blocked us."""
    try:
        if update.callback_query is not None:
            await application.bot.answer_callback_query(update.callback_query.id, texts.slow_down_short())
        elif notify and update.effective_chat is not None and update.effective_chat.type == "private":
            await application.bot.send_message(update.effective_chat.id, texts.slow_down())
    except TelegramError as error:
        log.debug("could not tell a flooding chat to slow down: %s", type(error).__name__)


def register_handlers(application: Application) -> None:
    """Which handler gets which update. The first matching handler (in this order) wins."""
    private = filters.ChatType.PRIVATE  # patient data never goes to group chats
    new = filters.UpdateType.MESSAGE & private  # commands must not fire again when a message is edited

    # /newpatient and /appointment: a dialog, so first (while it is open it takes the practitioner's answers).
    application.add_handler(onboarding.conversation())
    for name, callback in [
        ("start", patient.start),
        ("help", patient.help_command),
        ("stop", patient.stop_command),
        ("resume", patient.resume_command),
        ("open", staff.open_command),
        ("patient", staff.patient_command),
        ("resolve", staff.resolve_command),
    ]:
        application.add_handler(CommandHandler(name, callback, filters=new))

    # A button press without a chat (an inline-mode message: we send none) has no chat to check or answer in.
    application.add_handler(_NoChatButton(patient.unknown_button))
    application.add_handler(CallbackQueryHandler(staff.alert_button, pattern=staff.ALERT_BUTTON_PATTERN))
    application.add_handler(CallbackQueryHandler(staff.done_button, pattern=staff.DONE_BUTTON_PATTERN))
    application.add_handler(CallbackQueryHandler(patient.rasa_button, pattern=r"^rasa[:#]"))
    application.add_handler(CallbackQueryHandler(patient.unknown_button))

    application.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & private, patient.edited_message))
    application.add_handler(MessageHandler(new & filters.COMMAND, patient.unknown_command))
    application.add_handler(MessageHandler(new & filters.TEXT, patient.text_message))
    application.add_handler(MessageHandler(new & filters.PHOTO, patient.photo_message))
    application.add_handler(MessageHandler(new & ~filters.StatusUpdate.ALL, patient.not_text))

    application.add_error_handler(errors.error_handler)


class _NoChatButton(CallbackQueryHandler):
    """Matches a callback query that has no chat (no message, or an inline message's id only)."""

    def check_update(self, update: object) -> bool:
        return isinstance(update, Update) and update.callback_query is not None and update.effective_chat is None


def file_base_url(base_url: str) -> str:
    """PTB's base_file_url for a Bot API base_url: ".../bot" -> ".../file/bot" (files live beside methods)."""
    if base_url.rstrip("/").endswith("/bot"):
        return base_url.rstrip("/")[: -len("/bot")] + "/file/bot"
    return DEFAULT_BOT_API_BASE_URL.replace("/bot", "/file/bot")


def webhook_options(settings: Settings) -> Dict[str, Any]:
    """Arguments for Application.run_webhook / Updater.start_webhook from the settings.

    PTB's webhook server answers 403 to any request without the right X-Telegram-Bot-Api-Secret-Token
    header, before any handler runs; setWebhook registers that same secret with Telegram.
    """
    path = urlparse(settings.telegram_webhook_url).path.strip("/") or "telegram"
    return {
        "listen": settings.telegram_webhook_listen,
        "port": settings.telegram_webhook_port,
        "url_path": path,
        "webhook_url": settings.telegram_webhook_url,
        "secret_token": settings.telegram_webhook_secret,
        "allowed_updates": ALLOWED_UPDATES,
    }


async def _on_startup(application: Application) -> None:
    """Publish the command menu (best effort: the bot works without it)."""
    try:
        await application.bot.set_my_commands(PATIENT_COMMANDS)
    except TelegramError as error:
        log.warning("could not set the bot's command menu: %s", error)
    await warn_if_nobody_can_be_alerted(application)
    start_background(application)
    log.info("Telegram gateway ready as @%s", application.bot.username)


async def warn_if_nobody_can_be_alerted(application: Application) -> None:
    """A WARNING in the log and a line in the terminal when no practitioner (or nobody besides the treating one)
    can be alerted: red flags would otherwise reach nobody without anyone noticing (`aftercare doctor` says more)."""
    gateway: Optional[Gateway] = application.bot_data.get("gateway")
    factory = getattr(getattr(gateway.deps, "staff", None), "session_factory", None) if gateway else None
    if factory is None:
        return  # the in-memory demo records: nothing to check
    from bot.usecases.staffing import startup_warnings

    try:
        problems = await asyncio.to_thread(startup_warnings, factory)
    except Exception:  # the check must never stop the gateway from starting
        log.exception("could not check who can be alerted")
        return
    for problem in problems:
        log.warning("alerts: %s", problem)
        print(f"WARNING: {problem}", file=sys.stderr, flush=True)


def start_background(application: Application) -> None:
    """Start deps.background (the notifier and check-ins) beside the bot.

    A plain asyncio task, not application.create_task: Application.stop() waits for those, and this one runs
    until it is cancelled by stop_background (post_stop)."""
    gateway: Optional[Gateway] = application.bot_data.get("gateway")
    if gateway is not None and gateway.deps.background is not None and BACKGROUND_KEY not in application.bot_data:
        application.bot_data[BACKGROUND_KEY] = asyncio.create_task(
            gateway.deps.background(application), name="gateway-background"
        )


async def stop_background(application: Application) -> None:
    """Cancel the background task and wait until it has stopped."""
    task: Optional[asyncio.Task] = application.bot_data.pop(BACKGROUND_KEY, None)
    if task is not None:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        except Exception:  # already logged by the task itself; shutting down regardless
            log.exception("background task ended with an error")


async def _on_shutdown(application: Application) -> None:
    """Close the Rasa HTTP client."""
    gateway: Optional[Gateway] = application.bot_data.get("gateway")
    if gateway is not None:
        await gateway.rasa.aclose()


def configure_logging(level: str) -> None:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # At DEBUG, PTB logs whole updates (what patients wrote); keep it at INFO even when LOG_LEVEL=DEBUG.
    logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLogger().getEffectiveLevel()))
