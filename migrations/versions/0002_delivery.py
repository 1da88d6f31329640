"""delivery: retry/lease/claim times on messages, fan-out times on broadcasts, message parts

Revision ID: 0002_delivery
Revises: 0001_initial
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_delivery"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("held_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))

    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("fanned_out_at", sa.DateTime(), nullable=True))

    op.create_table(
        "message_parts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("message_id", BigId, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"],
                                name=op.f("fk_message_parts_message_id_messages"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_parts")),
    )
    with op.batch_alter_table("message_parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_message_parts_message_id"), ["message_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_message_parts_provider_id"), ["provider_id"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("message_parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_message_parts_provider_id"))
        batch_op.drop_index(batch_op.f("ix_message_parts_message_id"))
    op.drop_table("message_parts")

    with op.batch_alter_table("broadcasts", schema=None) as batch_op:
        batch_op.drop_column("fanned_out_at")
        batch_op.drop_column("claimed_at")

    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("held_until")
        batch_op.drop_column("next_attempt_at")
