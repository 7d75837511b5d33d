"""photos.caption: the text a patient sent with a photo

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # batch mode: SQLite rebuilds the table, other databases run a plain ALTER TABLE
    with op.batch_alter_table("photos") as batch_op:
        batch_op.add_column(sa.Column("caption", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("photos") as batch_op:
        batch_op.drop_column("caption")
