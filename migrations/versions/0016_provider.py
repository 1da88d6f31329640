"""Provider conformance: message_parts.cost (the price each part's receipt gave),
inbound_parts (the parts of a long inbound text, kept until the text is whole, or stored as a
partial message when the rest never comes) and attachments.message_id (pictures and files of
an inbound MMS, copied from the provider).

Revision ID: 0016_provider
Revises: 0011_confirmation_status
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_provider"
down_revision = "0011_confirmation_status"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    with op.batch_alter_table("message_parts") as batch_op:
        batch_op.add_column(sa.Column("cost", sa.Numeric(10, 5), nullable=True))
    op.create_table(
        "inbound_parts",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("provider_id", sa.String(80), nullable=False),
        sa.Column("sender", sa.String(254), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("ref", sa.String(40), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("arrived_at", sa.DateTime(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.Column("message_id", BIG_ID, sa.ForeignKey("messages.id", ondelete="SET NULL"),
                  nullable=True),
        sa.Column("closed", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("uq_inbound_parts_provider_id", "inbound_parts",
                    ["provider", "provider_id"], unique=True)
    op.create_index("ix_inbound_parts_open", "inbound_parts",
                    ["provider", "sender", "ref", "total", "closed"])
    op.create_index("ix_inbound_parts_arrived", "inbound_parts", ["closed", "arrived_at"])
    with op.batch_alter_table("attachments") as batch_op:
        batch_op.add_column(sa.Column("message_id", BIG_ID, nullable=True))
        batch_op.create_foreign_key("fk_attachments_message_id_messages", "messages", ["message_id"],
                                    ["id"], ondelete="CASCADE")
        batch_op.create_index("ix_attachments_message_id", ["message_id"])


def downgrade():
    with op.batch_alter_table("attachments") as batch_op:
        batch_op.drop_index("ix_attachments_message_id")
        batch_op.drop_constraint("fk_attachments_message_id_messages", type_="foreignkey")
        batch_op.drop_column("message_id")
    op.drop_table("inbound_parts")
    with op.batch_alter_table("message_parts") as batch_op:
        batch_op.drop_column("cost")
