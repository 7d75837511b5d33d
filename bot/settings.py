"""One typed settings object, read from the environment (and an optional .env file at the project root).

Every knob a clinic can turn is here and documented in .env.example. `Settings.from_env()` fails fast with a
message that names the variable and says what to put in it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "var"
DEFAULT_BOT_API_BASE_URL = "https://api.telegram.org/bot"

_PLACEHOLDER_TOKENS = {"", "changeme", "your-token-here", "<token>", "xxx", "TELEGRAM_BOT_TOKEN"}


class ConfigError(ValueError):
    """The clinic's configuration is wrong; the message says what to fix."""


def _load_dotenv(path: Path) -> dict:
    values: dict = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number; set it to e.g. {default}.") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}.")
    return value


@dataclass(frozen=True)
class Settings:
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    log_level: str = "INFO"

    clinic_name: str = "the clinic"
    clinic_phone: str = "the clinic's phone number"
    emergency_number: str = "your local emergency number (999 / 112 / 911)"

    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_seconds: float = 20.0
    criteria_path: Path = PROJECT_ROOT / "data" / "triage" / "criteria.yml"
    spacy_model_path: Path = PROJECT_ROOT / "build" / "spacy" / "aftercare_en"

    telegram_bot_token: str = ""
    telegram_api_base_url: str = DEFAULT_BOT_API_BASE_URL
    telegram_mode: str = "polling"  # polling | webhook
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = 8443
    telegram_bot_username: str = "AftercareClinicBot"

    # Escalation policy: re-alert the treating practitioner after N minutes unacknowledged, then the backup.
    escalation_realert_minutes: int = 10
    escalation_backup_after_minutes: int = 20
    link_code_ttl_hours: int = 72

    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None, dotenv: Optional[Path] = None) -> "Settings":
        if env is None:
            merged = _load_dotenv(dotenv or PROJECT_ROOT / ".env")
            merged.update(os.environ)
            env = merged
        data_dir = Path(env.get("AFTERCARE_DATA_DIR") or DEFAULT_DATA_DIR)
        database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'aftercare.db'}"
        token = (env.get("TELEGRAM_BOT_TOKEN") or "").strip()
        mode = (env.get("TELEGRAM_MODE") or "polling").strip().lower()
        if mode not in {"polling", "webhook"}:
            raise ConfigError(f"TELEGRAM_MODE={mode!r}: use 'polling' (default) or 'webhook'.")
        settings = cls(
            data_dir=data_dir,
            database_url=database_url,
            log_level=(env.get("LOG_LEVEL") or "INFO").upper(),
            clinic_name=env.get("CLINIC_NAME") or cls.clinic_name,
            clinic_phone=env.get("CLINIC_PHONE") or cls.clinic_phone,
            emergency_number=env.get("EMERGENCY_NUMBER") or cls.emergency_number,
            rasa_url=(env.get("RASA_URL") or cls.rasa_url).rstrip("/"),
            criteria_path=Path(env.get("CRITERIA_PATH") or cls.criteria_path),
            spacy_model_path=Path(env.get("SPACY_MODEL_PATH") or cls.spacy_model_path),
            telegram_bot_token=token,
            telegram_api_base_url=env.get("TELEGRAM_API_BASE_URL") or DEFAULT_BOT_API_BASE_URL,
            telegram_mode=mode,
            telegram_webhook_url=env.get("TELEGRAM_WEBHOOK_URL") or "",
            telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or "",
            telegram_webhook_listen=env.get("TELEGRAM_WEBHOOK_LISTEN") or cls.telegram_webhook_listen,
            telegram_webhook_port=_int(env, "TELEGRAM_WEBHOOK_PORT", cls.telegram_webhook_port, 1),
            telegram_bot_username=env.get("TELEGRAM_BOT_USERNAME") or cls.telegram_bot_username,
            escalation_realert_minutes=_int(env, "ESCALATION_REALERT_MINUTES", 10, 1),
            escalation_backup_after_minutes=_int(env, "ESCALATION_BACKUP_AFTER_MINUTES", 20, 1),
            link_code_ttl_hours=_int(env, "LINK_CODE_TTL_HOURS", 72, 1),
            extra=dict(env),
        )
        return settings

    def require_telegram(self) -> "Settings":
        """Fail fast when Telegram mode is asked for without a usable token or webhook settings."""
        token = self.telegram_bot_token
        if token in _PLACEHOLDER_TOKENS or ":" not in token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is missing or still a placeholder. Ask @BotFather for a token "
                "(it looks like 123456:ABC-DEF...) and put it in .env, or unset it to chat in the terminal."
            )
        if self.telegram_mode == "webhook":
            if not self.telegram_webhook_url.startswith("https://"):
                raise ConfigError("TELEGRAM_WEBHOOK_URL must be the public https:// URL Telegram should call.")
            if len(self.telegram_webhook_secret) < 16:
                raise ConfigError(
                    "TELEGRAM_WEBHOOK_SECRET must be at least 16 characters (A-Z, a-z, 0-9, _ and -) so that "
                    "requests not coming from Telegram can be refused."
                )
        return self
