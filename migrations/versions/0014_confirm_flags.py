"""conversations.flagged_at / flag_reason: a thread put in front of staff (a client declined an
appointment, or answered a confirmation request with something that is not YES or NO).

Revision ID: 0014_confirm_flags
Revises: 0011_confirmation_status
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_confirm_flags"
down_revision = "0011_confirmation_status"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("flagged_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("flag_reason", sa.String(200), nullable=False,
                                      server_default=""))


def downgrade():
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("flag_reason")
        batch_op.drop_column("flagged_at")
