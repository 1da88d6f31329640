"""Two-way texting: conversation state per client and appointment answers by text.

Revision ID: 0003_twoway
Revises: 0003_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_twoway"
down_revision = "0003_merge"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "conversations",
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("clients.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("assigned_to_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "appointment_answers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("appointment_id", sa.Integer(),
                  sa.ForeignKey("appointments.id", ondelete="CASCADE"), nullable=False),
        sa.Column("message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("messages.id", ondelete="SET NULL"), nullable=True),
        sa.Column("answer", sa.String(8), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_appointment_answers_appointment_id", "appointment_answers",
                    ["appointment_id"])


def downgrade():
    op.drop_index("ix_appointment_answers_appointment_id", table_name="appointment_answers")
    op.drop_table("appointment_answers")
    op.drop_table("conversations")
