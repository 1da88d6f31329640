"""inbound_queue: inbound messages waiting for the drain job (one row each, deleted when done).

Messages stored before this revision and never processed are queued, so the drain (or the
sweeper) handles them instead of the per-message jobs they had.

Revision ID: 0007_inbound_queue
Revises: 0005_mobile_kind
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_inbound_queue"
down_revision = "0005_mobile_kind"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "inbound_queue",
        sa.Column("message_id", BIG_ID, sa.ForeignKey("messages.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("queued_at", sa.DateTime(), nullable=False),
        sa.Column("held_until", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
    )
    op.execute(
        "INSERT INTO inbound_queue (message_id, queued_at, attempts) "
        "SELECT m.id, m.created_at, 0 FROM messages m WHERE m.direction = 'in' AND NOT EXISTS "
        "(SELECT 1 FROM message_events e WHERE e.message_id = m.id AND e.code = 'processed')"
    )


def downgrade():
    op.drop_table("inbound_queue")
