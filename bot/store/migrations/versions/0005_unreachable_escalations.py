"""escalations that reached nobody; failover pages and the patient's "nobody could be reached" notice

* escalations.unreachable_at: set when every practitioner who could be alerted failed (bot blocked, chat not
  found...) or there was nobody to alert; the patient was then told to phone the clinic themselves.
* alert_deliveries.kind: 'failover' (the next recipient, paged at once after a permanent send failure) and
  'unreachable_notice' (the message to the patient).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('initial', 'realert', 'backup', 'patient_ack_notice', 'screening')"
NEW_KINDS = (
    "kind IN ('initial', 'realert', 'backup', 'patient_ack_notice', 'screening', 'failover', 'unreachable_notice')"
)


def upgrade() -> None:
    # batch mode: SQLite rebuilds the table, other databases run plain ALTER TABLE statements
    with op.batch_alter_table("escalations") as batch_op:
        batch_op.add_column(sa.Column("unreachable_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("alert_deliveries") as batch_op:
        batch_op.drop_constraint(op.f("ck_alert_deliveries_kind_allowed"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_deliveries_kind_allowed"), NEW_KINDS)


def downgrade() -> None:
    op.execute("DELETE FROM alert_deliveries WHERE kind IN ('failover', 'unreachable_notice')")
    with op.batch_alter_table("alert_deliveries") as batch_op:
        batch_op.drop_constraint(op.f("ck_alert_deliveries_kind_allowed"), type_="check")
        batch_op.create_check_constraint(op.f("ck_alert_deliveries_kind_allowed"), OLD_KINDS)
    with op.batch_alter_table("escalations") as batch_op:
        batch_op.drop_column("unreachable_at")
