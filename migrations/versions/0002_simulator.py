"""simulator: sender and media of simulated messages; inbound messages unique per provider id

Revision ID: 0002_simulator
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_simulator"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sim_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sender", sa.String(length=254), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("media", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )

    # A provider's message id names one message: a replayed webhook must not store a second row.
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            "uq_messages_provider_provider_id", ["provider", "provider_id"], unique=True
        )


def downgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("uq_messages_provider_provider_id")

    with op.batch_alter_table("sim_messages", schema=None) as batch_op:
        batch_op.drop_column("media")
        batch_op.drop_column("sender")
