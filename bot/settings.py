"""One typed settings object, read from the environment (and an optional .env file at the project root).

Every knob a clinic can turn is here and documented in .env.example. `Settings.from_env()` fails fast with a
message that names the variable and says what to put in it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Tuple, Union

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


# The longest callback wait we accept: a day. Urgent replies tell the patient to ring the clinic if nobody has called
# back within PATIENT_CALLBACK_MINUTES; a longer wait than this is almost certainly a typo.
MAX_CALLBACK_MINUTES = 24 * 60


_DATABASE_SCHEMES = ("sqlite", "postgresql", "postgresql+psycopg2")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """true/false, yes/no, on/off, 1/0 (any case); empty = the default."""
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r}: use true or false.")


def _database_url(url: str) -> str:
    """The URL as given, or a ConfigError that says what to write (without echoing a password)."""
    scheme, sep, rest = url.partition("://")
    shown = f"{scheme}://…" if sep else repr(url[:40])
    example = (
        "sqlite:///var/aftercare.db (the embedded default) or "
        "postgresql+psycopg2://user:password@127.0.0.1:5432/aftercare"
    )
    if scheme == "postgres":
        raise ConfigError(
            f"DATABASE_URL starts with postgres://, which SQLAlchemy does not accept: write it as "
            f"postgresql+psycopg2://{rest.split('@')[-1] if '@' in rest else rest} (with your user "
            "and password before the @)."
        )
    if not sep or scheme not in _DATABASE_SCHEMES or (scheme != "sqlite" and not rest):
        raise ConfigError(f"DATABASE_URL={shown} is not a database this assistant supports: use {example}.")
    return url


def _callback_minutes(env: Mapping[str, str], default: int) -> int:
    """PATIENT_CALLBACK_MINUTES: a whole number of minutes, at least 1 and at most a day."""
    name = "PATIENT_CALLBACK_MINUTES"
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    meaning = (
        "it is how many minutes an urgent reply tells the patient to wait for the practitioner's call "
        "before ringing the clinic"
    )
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a whole number of minutes ({meaning}); set e.g. {name}={default}."
        ) from None
    if not 1 <= value <= MAX_CALLBACK_MINUTES:
        raise ConfigError(
            f"{name}={value}: use a positive whole number of minutes, at most {MAX_CALLBACK_MINUTES} "
            f"({meaning}); e.g. {name}={default}."
        )
    return value


DEFAULT_CHECKIN_SCHEDULE_HOURS: Tuple[int, ...] = (24, 72, 168, 672, 2016)  # 1 d, 3 d, 1 wk, 4 wk, 12 wk
# The longest check-in delay we accept: a year. Anything longer is almost certainly a typo (an extra 0).
MAX_CHECKIN_HOURS = 24 * 365


def _hours_list(env: Mapping[str, str], name: str, default: Tuple[int, ...]) -> Tuple[int, ...]:
    """A comma-separated list of whole hours, e.g. "24,72,168". "off" (or "none") means no check-ins."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if raw.lower() in {"off", "none"}:
        return ()
    example = ",".join(str(h) for h in default)
    hours = []
    for part in raw.split(","):
        part = part.strip()
        try:
            value = int(part)
        except ValueError:
            raise ConfigError(
                f"{name}={raw!r}: {part!r} is not a whole number of hours; use e.g. {name}={example} "
                f"(or {name}=off for no check-ins)."
            ) from None
        if not 1 <= value <= MAX_CHECKIN_HOURS:
            raise ConfigError(
                f"{name}={raw!r}: each value must be between 1 and {MAX_CHECKIN_HOURS} hours (got {value})."
            )
        if value in hours:
            raise ConfigError(f"{name}={raw!r}: {value} is listed twice.")
        hours.append(value)
    return tuple(sorted(hours))


def worker_urls(base_urls: Union[str, Sequence[str]]) -> Tuple[str, ...]:
    """Base URLs from "http://a:5005" or "http://a:5005,http://b:5005" (RASA_URL) or a list; no trailing /."""
    items = base_urls.split(",") if isinstance(base_urls, str) else base_urls
    urls = tuple(url.strip().rstrip("/") for url in items if url and url.strip())
    if not urls:
        raise ConfigError("RASA_URL is empty: give the Rasa server's URL, e.g. http://127.0.0.1:5005")
    return urls


@dataclass(frozen=True)
class Settings:
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    # embedded: one Rasa server, SQLite (make run). production: RASA_WORKERS Rasa workers on PostgreSQL + Redis.
    profile: str = "embedded"
    rasa_workers: int = 1
    redis_url: str = "redis://127.0.0.1:6379/0"
    log_level: str = "INFO"

    clinic_name: str = "the clinic"
    clinic_phone: str = "the clinic's phone number"
    emergency_number: str = "your local emergency number (999 / 112 / 911)"
    # Shown to patients in urgent replies: when the clinic's phone is answered (free text; set your own).
    clinic_hours: str = "Mon–Fri 9:00–18:00"
    # Urgent replies: "if nobody has called you back within N minutes, ring the clinic".
    patient_callback_minutes: int = 30

    # One Rasa server, or several workers comma-separated (production profile): see rasa_urls.
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_timeout_seconds: float = 20.0
    criteria_path: Path = PROJECT_ROOT / "data" / "triage" / "criteria.yml"
    spacy_model_path: Path = PROJECT_ROOT / "build" / "spacy" / "aftercare_en"
    # The learned second reading (bot/nlp/second_reading.py), built by `make train`.
    second_reading_path: Path = PROJECT_ROOT / "build" / "second_reading" / "model.joblib"

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

    # Check-ins after a treatment (hours after it) and the maintenance reminder (days after it; 0 = none).
    # The product guide advises maintenance every 6-12 months for skin and every 3-6 months for the scalp.
    checkin_schedule_hours: Tuple[int, ...] = DEFAULT_CHECKIN_SCHEDULE_HOURS
    maintenance_reminder_days_face: int = 180
    maintenance_reminder_days_scalp: int = 90
    # Days before an appointment to send the preparation guidance (the guide: stop retinoids 5-7 days before).
    preparation_lead_days: int = 7
    # Erase patients whose last treatment, last message and every other activity are older than this many days
    # (bot.store.retention: daily in the gateway, `aftercare purge` for cron). 0 = keep everything.
    data_retention_days: int = 0

    # The clinic's web console (bot.web, `python -m bot.run.web`; `make run` starts it). Bound to this machine by
    # default: put it behind a TLS reverse proxy (and set console_secure_cookies) to reach it from elsewhere.
    console_enabled: bool = True
    console_host: str = "127.0.0.1"
    console_port: int = 8765
    console_secure_cookies: bool = False
    console_session_hours: int = 12

    extra: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def maintenance_reminder_days(self) -> Dict[str, int]:
        """Days from treatment to the maintenance reminder, by treatment area (0 = no reminder)."""
        return {"face": self.maintenance_reminder_days_face, "scalp": self.maintenance_reminder_days_scalp}

    @property
    def rasa_urls(self) -> Tuple[str, ...]:
        """The Rasa workers' base URLs; the first is the one `make run` starts and the console talks to."""
        return worker_urls(self.rasa_url)

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
        database_url = _database_url(env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'aftercare.db'}")
        token = (env.get("TELEGRAM_BOT_TOKEN") or "").strip()
        mode = (env.get("TELEGRAM_MODE") or "polling").strip().lower()
        if mode not in {"polling", "webhook"}:
            raise ConfigError(f"TELEGRAM_MODE={mode!r}: use 'polling' (default) or 'webhook'.")
        profile = (env.get("AFTERCARE_PROFILE") or "embedded").strip().lower()
        if profile not in {"embedded", "production"}:
            raise ConfigError(f"AFTERCARE_PROFILE={profile!r}: use 'embedded' (default) or 'production'.")
        settings = cls(
            data_dir=data_dir,
            database_url=database_url,
            profile=profile,
            rasa_workers=_int(env, "RASA_WORKERS", 1, 1),
            redis_url=env.get("REDIS_URL") or cls.redis_url,
            log_level=(env.get("LOG_LEVEL") or "INFO").upper(),
            clinic_name=env.get("CLINIC_NAME") or cls.clinic_name,
            clinic_phone=env.get("CLINIC_PHONE") or cls.clinic_phone,
            emergency_number=env.get("EMERGENCY_NUMBER") or cls.emergency_number,
            clinic_hours=(env.get("CLINIC_HOURS") or "").strip() or cls.clinic_hours,
            patient_callback_minutes=_callback_minutes(env, cls.patient_callback_minutes),
            rasa_url=",".join(worker_urls(env.get("RASA_URL") or cls.rasa_url)),
            criteria_path=Path(env.get("CRITERIA_PATH") or cls.criteria_path),
            spacy_model_path=Path(env.get("SPACY_MODEL_PATH") or cls.spacy_model_path),
            second_reading_path=Path(env.get("SECOND_READING_PATH") or cls.second_reading_path),
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
            checkin_schedule_hours=_hours_list(env, "CHECKIN_SCHEDULE_HOURS", DEFAULT_CHECKIN_SCHEDULE_HOURS),
            maintenance_reminder_days_face=_int(env, "MAINTENANCE_REMINDER_DAYS", 180, 0),
            maintenance_reminder_days_scalp=_int(env, "MAINTENANCE_REMINDER_DAYS_SCALP", 90, 0),
            preparation_lead_days=_int(env, "PREPARATION_LEAD_DAYS", 7, 0),
            data_retention_days=_int(env, "DATA_RETENTION_DAYS", 0, 0),
            console_enabled=_bool(env, "CONSOLE_ENABLED", True),
            console_host=(env.get("CONSOLE_HOST") or "").strip() or cls.console_host,
            console_port=_int(env, "CONSOLE_PORT", cls.console_port, 1),
            console_secure_cookies=_bool(env, "CONSOLE_SECURE_COOKIES", False),
            console_session_hours=_int(env, "CONSOLE_SESSION_HOURS", cls.console_session_hours, 1),
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
