"""The clinic's records as SQLAlchemy tables (1.4, written in 2.0 style).

The schema is created ONLY by the Alembic migrations in bot/store/migrations/; these classes describe it for
queries. tests/integration/store/test_store_migrations.py checks that the two agree.

Conventions:
* every timestamp is timezone-aware UTC in Python (`UTCDateTime`), whatever the database does with zones;
* JSON columns use the portable `sqlalchemy.JSON` (JSON on PostgreSQL, TEXT on SQLite);
* allowed values for small enumerations are plain strings checked by CHECK constraints, so adding a value is a
  one-line migration instead of an ALTER TYPE.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship
from sqlalchemy.types import TypeDecorator

# Allowed values ---------------------------------------------------------------------------------------------
ROLES = ("treating", "on_call", "backup")
AREAS = ("face", "scalp")
METHODS = ("microneedling", "microinjection", "combined")
REPORT_SOURCES = ("rasa", "safety_net", "checkin")
ESCALATION_STATES = ("open", "acknowledged", "resolved")
# `screening`: a pre-treatment screening with answers a practitioner must review (added in migration 0004).
# `failover`: the next recipient, paged at once when a delivery failed for good; `unreachable_notice`: the
# patient is told nobody could be reached (both added in migration 0005). `photo`: a photo the patient sent while
# the escalation was open, forwarded to a practitioner already alerted (round = the photo's id; migration 0007).
DELIVERY_KINDS = (
    "initial",
    "realert",
    "backup",
    "patient_ack_notice",
    "screening",
    "failover",
    "unreachable_notice",
    "photo",
)
# `cancelled`: a reminder/backup alert whose escalation was acknowledged before it went out (nobody needs it).
DELIVERY_STATUSES = ("pending", "sent", "failed", "cancelled")
LEVELS = ("none", "normal", "monitor", "urgent", "emergency")
SCREENING_ANSWERS = ("yes", "no", "unsure")

# Stable constraint names, so migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Base = declarative_base(metadata=MetaData(naming_convention=NAMING_CONVENTION))


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL keeps zones (timestamptz); SQLite stores text without one. We convert to UTC on the way in and
    re-attach UTC on the way out, so Python code only ever sees aware UTC datetimes and SQLite's text values
    still sort (and compare) chronologically.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[dt.datetime], dialect: Any) -> Optional[dt.datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; use datetime.now(timezone.utc)")
        value = value.astimezone(dt.timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Optional[dt.datetime], dialect: Any) -> Optional[dt.datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def _one_of(column: str, values: tuple) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


# People ----------------------------------------------------------------------------------------------------
class Practitioner(Base):
    __tablename__ = "practitioners"
    __table_args__ = (_one_of("role", ROLES),)

    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    # Nullable: a practitioner can be on record before they have started the bot.
    telegram_chat_id = Column(BigInteger, unique=True, nullable=True)
    role = Column(String(16), nullable=False, default="treating")
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class Patient(Base):
    __tablename__ = "patients"

    id = Column(Integer, primary_key=True)
    display_name = Column(String(200), nullable=False)
    phone = Column(String(40), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    treatments = relationship("Treatment", back_populates="patient", order_by="Treatment.performed_at")


class Treatment(Base):
    __tablename__ = "treatments"
    __table_args__ = (_one_of("area", AREAS), _one_of("method", METHODS))

    id = Column(Integer, primary_key=True)
    patient_id = Column(Integer, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True)
    practitioner_id = Column(Integer, ForeignKey("practitioners.id"), nullable=False, index=True)
    performed_at = Column(UTCDateTime, nullable=False)
    area = Column(String(16), nullable=False)
    method = Column(String(24), nullable=False)
    product_batch = Column(String(80), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    patient = relationship("Patient", back_populates="treatments")
    practitioner = relationship("Practitioner")


# Linking a Telegram chat to a patient ----------------------------------------------------------------------
class ChatLink(Base):
    __tablename__ = "chat_links"

    id = Column(Integer, primary_key=True)
    patient_id = Column(Integer, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True)
    telegram_chat_id = Column(BigInteger, unique=True, nullable=False)
    linked_at = Column(UTCDateTime, nullable=False, default=utcnow)


class LinkCode(Base):
    """A one-time code the clinic gives the patient (as a t.me deep link) to link their chat to their record."""

    __tablename__ = "link_codes"

    id = Column(Integer, primary_key=True)
    code = Column(String(64), unique=True, nullable=False)
    patient_id = Column(Integer, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime, nullable=False)
    used_at = Column(UTCDateTime, nullable=True)
    used_by_chat_id = Column(BigInteger, nullable=True)


# What patients report --------------------------------------------------------------------------------------
class SymptomReport(Base):
    __tablename__ = "symptom_reports"
    __table_args__ = (_one_of("source", REPORT_SOURCES), _one_of("level", LEVELS))

    id = Column(Integer, primary_key=True)
    patient_id = Column(Integer, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True)
    # Nullable: a patient may write before their treatment is on record; triage then runs without context.
    treatment_id = Column(Integer, ForeignKey("treatments.id"), nullable=True, index=True)
    received_at = Column(UTCDateTime, nullable=False, default=utcnow)
    text = Column(Text, nullable=False)
    findings = Column(JSON, nullable=False, default=list)
    level = Column(String(16), nullable=False)
    criteria = Column(JSON, nullable=False, default=list)
    source = Column(String(16), nullable=False)


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__ = (_one_of("state", ESCALATION_STATES), _one_of("level", LEVELS))

    id = Column(Integer, primary_key=True)
    # Unique: one report raises at most one escalation.
    report_id = Column(Integer, ForeignKey("symptom_reports.id", ondelete="CASCADE"), nullable=False, unique=True)
    level = Column(String(16), nullable=False)
    state = Column(String(16), nullable=False, default="open", index=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    acknowledged_by = Column(Integer, ForeignKey("practitioners.id"), nullable=True)
    acknowledged_at = Column(UTCDateTime, nullable=True)
    resolved_by = Column(Integer, ForeignKey("practitioners.id"), nullable=True)
    resolved_at = Column(UTCDateTime, nullable=True)
    note = Column(Text, nullable=True)
    # Set when no practitioner could be reached and the patient was told so (migration 0005).
    unreachable_at = Column(UTCDateTime, nullable=True)

    report = relationship("SymptomReport")


class Photo(Base):
    __tablename__ = "photos"

    id = Column(Integer, primary_key=True)
    patient_id = Column(Integer, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True)
    # Telegram's file_id: we keep the reference, not the image (Telegram stores the file).
    file_id = Column(String(255), nullable=False)
    report_id = Column(Integer, ForeignKey("symptom_reports.id", ondelete="SET NULL"), nullable=True)
    escalation_id = Column(Integer, ForeignKey("escalations.id", ondelete="SET NULL"), nullable=True)
    received_at = Column(UTCDateTime, nullable=False, default=utcnow)
    caption = Column(Text, nullable=True)  # added in migration 0002


# The outbox: every message the escalation machinery must deliver ----------------------------------------------
class AlertDelivery(Base):
    """One message to one recipient. Written in the same transaction as the state change that needs it.

    `recipient` is "practitioner:<id>" or "patient:<id>"; with escalation, kind and round it forms the dedupe
    key: two processes scheduling the same reminder insert one row, never two.
    A row belongs to exactly one escalation or one pre-treatment screening (`screening_id`, migration 0004);
    screening rows have their own dedupe key (screening, recipient, kind, round).
    Claiming: a notifier sets `claim_token` and `claimed_until` (a lease) before sending; if it dies, the lease
    runs out and another notifier re-sends the row (at-least-once).
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("escalation_id", "recipient", "kind", "round", name="uq_alert_deliveries_dedupe"),
        UniqueConstraint("screening_id", "recipient", "kind", "round", name="uq_alert_deliveries_screening_dedupe"),
        CheckConstraint("(escalation_id IS NULL) <> (screening_id IS NULL)", name="one_subject"),
        _one_of("kind", DELIVERY_KINDS),
        _one_of("status", DELIVERY_STATUSES),
    )

    id = Column(Integer, primary_key=True)
    escalation_id = Column(Integer, ForeignKey("escalations.id", ondelete="CASCADE"), nullable=True, index=True)
    screening_id = Column(Integer, ForeignKey("screenings.id", ondelete="CASCADE"), nullable=True, index=True)
    practitioner_id = Column(Integer, ForeignKey("practitioners.id"), nullable=True)  # NULL for patient notices
    recipient = Column(String(64), nullable=False)
    chat_id = Column(BigInteger, nullable=False)
    kind = Column(String(24), nullable=False)
    round = Column(Integer, nullable=False, default=0)
    status = Column(String(16), nullable=False, default="pending", index=True)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    claimed_until = Column(UTCDateTime, nullable=True)
    claim_token = Column(String(64), nullable=True)
    last_error = Column(Text, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    sent_at = Column(UTCDateTime, nullable=True)
    external_message_id = Column(String(64), nullable=True)

    @property
    def dedupe_key(self) -> str:
        subject = f"e{self.escalation_id}" if self.escalation_id is not None else f"s{self.screening_id}"
        return f"{subject}/{self.recipient}/{self.kind}/{self.round}"


class ScheduledCheckin(Base):
    """A message the bot will send the patient at `due_at` (bot.checkins). Stored, so restarts lose nothing.

    A row ends either `sent_at` (delivered) or `skipped_at` (never to be sent: a later check-in made it stale,
    it fell due while paused, or Telegram refused it for good). `paused` is the patient's /stop.
    Claiming works like the alert outbox: a sender sets `claim_token` and a lease (`claimed_until`) before
    sending, so two senders never both send a row; after a failed attempt `claimed_until` holds the retry time.
    """

    __tablename__ = "scheduled_checkins"
    # Aftercare check-ins follow a treatment; the preparation guidance (kind "preparation", migration 0004)
    # precedes an appointment.
    __table_args__ = (CheckConstraint("(treatment_id IS NULL) <> (appointment_id IS NULL)", name="one_subject"),)

    id = Column(Integer, primary_key=True)
    patient_id = Column(Integer, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True)
    treatment_id = Column(Integer, ForeignKey("treatments.id", ondelete="CASCADE"), nullable=True)
    appointment_id = Column(Integer, ForeignKey("appointments.id", ondelete="CASCADE"), nullable=True)
    due_at = Column(UTCDateTime, nullable=False, index=True)
    kind = Column(String(32), nullable=False)  # "24h", "72h", "1w", "4w", "12w", "maintenance" or "preparation"
    sent_at = Column(UTCDateTime, nullable=True)
    paused = Column(Boolean, nullable=False, default=False)
    # Added in migration 0003:
    skipped_at = Column(UTCDateTime, nullable=True)
    attempts = Column(Integer, nullable=False, default=0, server_default="0")
    claim_token = Column(String(64), nullable=True)
    claimed_until = Column(UTCDateTime, nullable=True)
    last_error = Column(Text, nullable=True)


# Before a treatment (migration 0004) ----------------------------------------------------------------------------
class Appointment(Base):
    """A planned treatment. Kept apart from `treatments` on purpose: triage counts hours since a treatment that
    was performed, and a planned one must never look like one."""

    __tablename__ = "appointments"
    __table_args__ = (_one_of("area", AREAS), _one_of("method", METHODS))

    id = Column(Integer, primary_key=True)
    patient_id = Column(Integer, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True)
    practitioner_id = Column(Integer, ForeignKey("practitioners.id"), nullable=False, index=True)
    scheduled_at = Column(UTCDateTime, nullable=False, index=True)
    area = Column(String(16), nullable=False)
    method = Column(String(24), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    practitioner = relationship("Practitioner")


class Screening(Base):
    """A patient's answers to the pre-treatment screening (bot.screening.items).

    `answers` maps item key -> "yes" | "no" | "unsure"; `flagged` lists the items a practitioner must review.
    """

    __tablename__ = "screenings"

    id = Column(Integer, primary_key=True)
    patient_id = Column(Integer, ForeignKey("patients.id", ondelete="CASCADE"), nullable=False, index=True)
    # Nullable: a patient may answer with no appointment on record; SET NULL keeps the answers if it is deleted.
    appointment_id = Column(Integer, ForeignKey("appointments.id", ondelete="SET NULL"), nullable=True)
    completed_at = Column(UTCDateTime, nullable=False, default=utcnow)
    answers = Column(JSON, nullable=False, default=dict)
    flagged = Column(JSON, nullable=False, default=list)


class AuditEvent(Base):
    """Append-only trail: who changed what, when. Written for every state change."""

    __tablename__ = "audit_events"

    id = Column(Integer, primary_key=True)
    entity = Column(String(40), nullable=False)
    entity_id = Column(Integer, nullable=True)
    action = Column(String(40), nullable=False)
    actor = Column(String(80), nullable=False)  # "practitioner:3", "patient:7", "system:notifier", "cli"
    at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    detail = Column(JSON, nullable=False, default=dict)


# The clinic's web console (migration 0006) ----------------------------------------------------------------------
CONSOLE_ROLES = ("admin", "clinician", "desk")


class ConsoleAccount(Base):
    """Someone who signs in to the web console (bot.web). Only an argon2 hash of the password is kept.

    `practitioner_id` links a clinician's account to their practitioner record: acknowledging or resolving an
    escalation from the console is done as that practitioner."""

    __tablename__ = "console_accounts"
    __table_args__ = (_one_of("role", CONSOLE_ROLES),)

    id = Column(Integer, primary_key=True)
    username = Column(String(64), unique=True, nullable=False)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False)
    practitioner_id = Column(Integer, ForeignKey("practitioners.id"), nullable=True)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    password_changed_at = Column(UTCDateTime, nullable=False, default=utcnow)


class ConsoleSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 (hex) is stored, so a copy of the
    database signs nobody in. `csrf_token` goes into the session's forms."""

    __tablename__ = "console_sessions"

    id = Column(Integer, primary_key=True)
    account_id = Column(Integer, ForeignKey("console_accounts.id", ondelete="CASCADE"), nullable=False, index=True)
    token_hash = Column(String(64), unique=True, nullable=False)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_seen_at = Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime, nullable=False, index=True)
