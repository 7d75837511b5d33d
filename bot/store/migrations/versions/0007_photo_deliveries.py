"""photos forwarded to the practitioners of an open escalation

* alert_deliveries.kind: 'photo', a photo the patient sent while the escalation was open, forwarded to each
  practitioner already alerted about it (round = the photo's id, so each photo goes to each of them once).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OLD_KINDS = (
    "kind IN ('initial', 'realert', 'backup', 'patient_ack_notice', 'screening', 'failover', 'unreachable_notice')"
)
NEW_KINDS = (
    "kind IN ('initial', 'realert', 'backup', 'patient_ack_notice', 'screening', 'failover', 'unreachable_notice', "
    "'photo')"
)


def upgrade() -> None:
    # batch mode: SQLite rebuilds the table, other databases run plain ALTER TABLE statements
    with op.batch_alter_table("alert_deliveries") as batch_op:
        batch_op.drop_constraint(op.f("ck_alert_deliveries_kind_allowed"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_deliveries_kind_allowed"), NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM alert_deliveries WHERE kind = 'photo'")
    with op.batch_alter_table("alert_deliveries") as batch_op:
        batch_op.drop_constraint(op.f("ck_alert_deliveries_kind_allowed"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_deliveries_kind_allowed"), OLD_KINDS)
