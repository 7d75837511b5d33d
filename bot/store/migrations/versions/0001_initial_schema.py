"""initial schema: practitioners, patients, treatments, chat links, reports, escalations, outbox, audit

Hand-checked autogenerate output. Timestamps are timestamptz on PostgreSQL (text on SQLite, always UTC).

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])

    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
    )
    op.create_table(
        "practitioners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("telegram_chat_id", sa.BigInteger(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('treating', 'on_call', 'backup')", name=op.f("ck_practitioners_role_allowed")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioners")),
        sa.UniqueConstraint("telegram_chat_id", name=op.f("uq_practitioners_telegram_chat_id")),
    )
    op.create_table(
        "chat_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("telegram_chat_id", sa.BigInteger(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_chat_links_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_links")),
        sa.UniqueConstraint("telegram_chat_id", name=op.f("uq_chat_links_telegram_chat_id")),
    )
    op.create_index(op.f("ix_chat_links_patient_id"), "chat_links", ["patient_id"])

    op.create_table(
        "link_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by_chat_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_link_codes_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_codes")),
        sa.UniqueConstraint("code", name=op.f("uq_link_codes_code")),
    )
    op.create_index(op.f("ix_link_codes_patient_id"), "link_codes", ["patient_id"])

    op.create_table(
        "treatments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        sa.Column("performed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("area", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("product_batch", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("area IN ('face', 'scalp')", name=op.f("ck_treatments_area_allowed")),
        sa.CheckConstraint(
            "method IN ('microneedling', 'microinjection', 'combined')", name=op.f("ck_treatments_method_allowed")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_treatments_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"], ["practitioners.id"], name=op.f("fk_treatments_practitioner_id_practitioners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatments")),
    )
    op.create_index(op.f("ix_treatments_patient_id"), "treatments", ["patient_id"])
    op.create_index(op.f("ix_treatments_practitioner_id"), "treatments", ["practitioner_id"])

    op.create_table(
        "scheduled_checkins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("treatment_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_scheduled_checkins_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["treatment_id"],
            ["treatments.id"],
            name=op.f("fk_scheduled_checkins_treatment_id_treatments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_checkins")),
    )
    op.create_index(op.f("ix_scheduled_checkins_due_at"), "scheduled_checkins", ["due_at"])
    op.create_index(op.f("ix_scheduled_checkins_patient_id"), "scheduled_checkins", ["patient_id"])

    op.create_table(
        "symptom_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("treatment_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "level IN ('none', 'normal', 'monitor', 'urgent', 'emergency')",
            name=op.f("ck_symptom_reports_level_allowed"),
        ),
        sa.CheckConstraint(
            "source IN ('rasa', 'safety_net', 'checkin')", name=op.f("ck_symptom_reports_source_allowed")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_symptom_reports_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["treatment_id"], ["treatments.id"], name=op.f("fk_symptom_reports_treatment_id_treatments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_symptom_reports")),
    )
    op.create_index(op.f("ix_symptom_reports_patient_id"), "symptom_reports", ["patient_id"])
    op.create_index(op.f("ix_symptom_reports_treatment_id"), "symptom_reports", ["treatment_id"])

    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "level IN ('none', 'normal', 'monitor', 'urgent', 'emergency')", name=op.f("ck_escalations_level_allowed")
        ),
        sa.CheckConstraint("state IN ('open', 'acknowledged', 'resolved')", name=op.f("ck_escalations_state_allowed")),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"], ["practitioners.id"], name=op.f("fk_escalations_acknowledged_by_practitioners")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["symptom_reports.id"],
            name=op.f("fk_escalations_report_id_symptom_reports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["practitioners.id"], name=op.f("fk_escalations_resolved_by_practitioners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint("report_id", name=op.f("uq_escalations_report_id")),
    )
    op.create_index(op.f("ix_escalations_state"), "escalations", ["state"])

    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("practitioner_id", sa.Integer(), nullable=True),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("external_message_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "kind IN ('initial', 'realert', 'backup', 'patient_ack_notice')",
            name=op.f("ck_alert_deliveries_kind_allowed"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'cancelled')", name=op.f("ck_alert_deliveries_status_allowed")
        ),
        sa.ForeignKeyConstraint(
            ["escalation_id"],
            ["escalations.id"],
            name=op.f("fk_alert_deliveries_escalation_id_escalations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"], ["practitioners.id"], name=op.f("fk_alert_deliveries_practitioner_id_practitioners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
        sa.UniqueConstraint("escalation_id", "recipient", "kind", "round", name="uq_alert_deliveries_dedupe"),
    )
    op.create_index(op.f("ix_alert_deliveries_escalation_id"), "alert_deliveries", ["escalation_id"])
    op.create_index(op.f("ix_alert_deliveries_next_attempt_at"), "alert_deliveries", ["next_attempt_at"])
    op.create_index(op.f("ix_alert_deliveries_status"), "alert_deliveries", ["status"])

    op.create_table(
        "photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.String(length=255), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("escalation_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["escalation_id"], ["escalations.id"], name=op.f("fk_photos_escalation_id_escalations"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_photos_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["symptom_reports.id"], name=op.f("fk_photos_report_id_symptom_reports"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photos")),
    )
    op.create_index(op.f("ix_photos_patient_id"), "photos", ["patient_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_photos_patient_id"), table_name="photos")

    op.drop_table("photos")
    op.drop_index(op.f("ix_alert_deliveries_status"), table_name="alert_deliveries")
    op.drop_index(op.f("ix_alert_deliveries_next_attempt_at"), table_name="alert_deliveries")
    op.drop_index(op.f("ix_alert_deliveries_escalation_id"), table_name="alert_deliveries")

    op.drop_table("alert_deliveries")
    op.drop_index(op.f("ix_escalations_state"), table_name="escalations")

    op.drop_table("escalations")
    op.drop_index(op.f("ix_symptom_reports_treatment_id"), table_name="symptom_reports")
    op.drop_index(op.f("ix_symptom_reports_patient_id"), table_name="symptom_reports")

    op.drop_table("symptom_reports")
    op.drop_index(op.f("ix_scheduled_checkins_patient_id"), table_name="scheduled_checkins")
    op.drop_index(op.f("ix_scheduled_checkins_due_at"), table_name="scheduled_checkins")

    op.drop_table("scheduled_checkins")
    op.drop_index(op.f("ix_treatments_practitioner_id"), table_name="treatments")
    op.drop_index(op.f("ix_treatments_patient_id"), table_name="treatments")

    op.drop_table("treatments")
    op.drop_index(op.f("ix_link_codes_patient_id"), table_name="link_codes")

    op.drop_table("link_codes")
    op.drop_index(op.f("ix_chat_links_patient_id"), table_name="chat_links")

    op.drop_table("chat_links")
    op.drop_table("practitioners")
    op.drop_table("patients")
    op.drop_index(op.f("ix_audit_events_at"), table_name="audit_events")

    op.drop_table("audit_events")
