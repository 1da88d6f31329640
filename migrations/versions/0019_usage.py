"""Usage and cost: messages.category (transactional / marketing / direct) on every message,
clients' marketing consent (flag, when, how) and usage_counters (monthly quota counting).

Existing messages become transactional (what every send was until now), and conversation
replies (outbound messages without a broadcast, written by staff) keep that too: their history
cannot tell a staff reply from an automatic answer.

Revision ID: 0019_usage
Revises: 0017_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_usage"
down_revision = "0017_merge"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "usage_counters",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("category", sa.String(16), primary_key=True),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("spend", sa.Numeric(14, 5), nullable=False),
    )
    with op.batch_alter_table("messages") as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(16), nullable=False,
                                      server_default="transactional"))
    with op.batch_alter_table("clients") as batch_op:
        batch_op.add_column(sa.Column("marketing_consent", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column("marketing_consent_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("marketing_consent_source", sa.String(20),
                                      nullable=False, server_default=""))


def downgrade():
    op.drop_table("usage_counters")
    with op.batch_alter_table("clients") as batch_op:
        batch_op.drop_column("marketing_consent_source")
        batch_op.drop_column("marketing_consent_at")
        batch_op.drop_column("marketing_consent")
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_column("category")
