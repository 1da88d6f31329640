"""secure: secure messages (encrypted content behind a link) and their encrypted files

Revision ID: 0003_secure
Revises: 0003_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_secure"
down_revision = "0003_merge"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "secure_messages",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("broadcast_id", BIG, sa.ForeignKey("broadcasts.id", ondelete="SET NULL")),
        sa.Column("message_id", BIG, sa.ForeignKey("messages.id", ondelete="SET NULL")),
        sa.Column("client_id", sa.Integer(), sa.ForeignKey("clients.id", ondelete="SET NULL")),
        sa.Column("appointment_id", sa.Integer(),
                  sa.ForeignKey("appointments.id", ondelete="SET NULL")),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("to_addr", sa.String(254), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("pin_hash", sa.String(255)),
        sa.Column("content", sa.Text()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("opened_at", sa.DateTime()),
        sa.Column("revealed_at", sa.DateTime()),
        sa.Column("read_at", sa.DateTime()),
        sa.Column("pin_failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime()),
        sa.Column("locked_at", sa.DateTime()),
        sa.Column("revoked_at", sa.DateTime()),
        sa.Column("purged_at", sa.DateTime()),
        sa.Column("replied_at", sa.DateTime()),
        sa.Column("reply_message_id", BIG, sa.ForeignKey("messages.id", ondelete="SET NULL")),
        sa.Column("link_requested_at", sa.DateTime()),
        sa.Column("resent_count", sa.Integer(), nullable=False),
        sa.UniqueConstraint("token_hash", name="uq_secure_messages_token_hash"),
    )
    op.create_index("ix_secure_messages_broadcast_id", "secure_messages", ["broadcast_id"])
    op.create_index("ix_secure_messages_message_id", "secure_messages", ["message_id"])
    op.create_index("ix_secure_messages_expires_at", "secure_messages", ["expires_at"])
    op.create_table(
        "secure_files",
        sa.Column("id", BIG, primary_key=True),
        sa.Column("broadcast_id", BIG, sa.ForeignKey("broadcasts.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_secure_files_broadcast_id", "secure_files", ["broadcast_id"])


def downgrade():
    op.drop_index("ix_secure_files_broadcast_id", "secure_files")
    op.drop_table("secure_files")
    op.drop_index("ix_secure_messages_expires_at", "secure_messages")
    op.drop_index("ix_secure_messages_message_id", "secure_messages")
    op.drop_index("ix_secure_messages_broadcast_id", "secure_messages")
    op.drop_table("secure_messages")
