"""appointments, pre-treatment screenings; preparation check-ins and screening alerts reuse the two outboxes

* appointments: a planned treatment (triage keeps reading only performed ones from `treatments`).
* screenings: a patient's answers to the pre-treatment screening.
* scheduled_checkins: a row now belongs to a treatment OR an appointment (the preparation guidance).
* alert_deliveries: a row now belongs to an escalation OR a screening (kind 'screening'), with its own dedupe key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('initial', 'realert', 'backup', 'patient_ack_notice')"
NEW_KINDS = "kind IN ('initial', 'realert', 'backup', 'patient_ack_notice', 'screening')"


def upgrade() -> None:
    op.create_table(
        "appointments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("area", sa.String(length=16), nullable=False),
        sa.Column("method", sa.String(length=24), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("area IN ('face', 'scalp')", name=op.f("ck_appointments_area_allowed")),
        sa.CheckConstraint(
            "method IN ('microneedling', 'microinjection', 'combined')", name=op.f("ck_appointments_method_allowed")
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_appointments_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["practitioner_id"], ["practitioners.id"], name=op.f("fk_appointments_practitioner_id_practitioners")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    op.create_index(op.f("ix_appointments_patient_id"), "appointments", ["patient_id"])
    op.create_index(op.f("ix_appointments_practitioner_id"), "appointments", ["practitioner_id"])
    op.create_index(op.f("ix_appointments_scheduled_at"), "appointments", ["scheduled_at"])

    op.create_table(
        "screenings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("flagged", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_screenings_appointment_id_appointments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_screenings_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screenings")),
    )
    op.create_index(op.f("ix_screenings_patient_id"), "screenings", ["patient_id"])

    # batch mode: SQLite rebuilds the table, other databases run plain ALTER TABLE statements
    with op.batch_alter_table("scheduled_checkins") as batch_op:
        batch_op.alter_column("treatment_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("appointment_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_scheduled_checkins_appointment_id_appointments"),
            "appointments",
            ["appointment_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_check_constraint(
            op.f("ck_scheduled_checkins_one_subject"), "(treatment_id IS NULL) <> (appointment_id IS NULL)"
        )

    with op.batch_alter_table("alert_deliveries") as batch_op:
        batch_op.alter_column("escalation_id", existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column("screening_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_alert_deliveries_screening_id_screenings"),
            "screenings",
            ["screening_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(op.f("ix_alert_deliveries_screening_id"), ["screening_id"])
        batch_op.create_unique_constraint(
            "uq_alert_deliveries_screening_dedupe", ["screening_id", "recipient", "kind", "round"]
        )
        batch_op.create_check_constraint(
            op.f("ck_alert_deliveries_one_subject"), "(escalation_id IS NULL) <> (screening_id IS NULL)"
        )
        batch_op.drop_constraint(op.f("ck_alert_deliveries_kind_allowed"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_deliveries_kind_allowed"), NEW_KINDS)


def downgrade() -> None:
    # Rows that only make sense with this revision go first: NOT NULL and the old CHECKs would refuse them.
    op.execute("DELETE FROM alert_deliveries WHERE screening_id IS NOT NULL")
    op.execute("DELETE FROM scheduled_checkins WHERE appointment_id IS NOT NULL")
    with op.batch_alter_table("alert_deliveries") as batch_op:
        batch_op.drop_constraint(op.f("ck_alert_deliveries_kind_allowed"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_deliveries_kind_allowed"), OLD_KINDS)
        batch_op.drop_constraint(op.f("ck_alert_deliveries_one_subject"), type_="check")
        batch_op.drop_constraint("uq_alert_deliveries_screening_dedupe", type_="unique")
        batch_op.drop_index(op.f("ix_alert_deliveries_screening_id"))
        batch_op.drop_constraint(op.f("fk_alert_deliveries_screening_id_screenings"), type_="foreignkey")
        batch_op.drop_column("screening_id")
        batch_op.alter_column("escalation_id", existing_type=sa.Integer(), nullable=False)

    with op.batch_alter_table("scheduled_checkins") as batch_op:
        batch_op.drop_constraint(op.f("ck_scheduled_checkins_one_subject"), type_="check")
        batch_op.drop_constraint(op.f("fk_scheduled_checkins_appointment_id_appointments"), type_="foreignkey")
        batch_op.drop_column("appointment_id")
        batch_op.alter_column("treatment_id", existing_type=sa.Integer(), nullable=False)

    op.drop_index(op.f("ix_screenings_patient_id"), table_name="screenings")
    op.drop_table("screenings")
    op.drop_index(op.f("ix_appointments_scheduled_at"), table_name="appointments")
    op.drop_index(op.f("ix_appointments_practitioner_id"), table_name="appointments")
    op.drop_index(op.f("ix_appointments_patient_id"), table_name="appointments")
    op.drop_table("appointments")
