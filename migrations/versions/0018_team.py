"""Staff chat: team_chats, team_members (read marker), team_messages, team_mentions.

Revision ID: 0018_team
Revises: 0017_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_team"
down_revision = "0017_merge"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
WHEN = sa.DateTime()  # naive UTC, as core.types.UTCDateTime stores it


def upgrade():
    op.create_table(
        "team_chats",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("direct_key", sa.String(40), unique=True),
        sa.Column("created_by_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("last_message_at", WHEN, nullable=False),
    )
    op.create_index("ix_team_chats_last_message_at", "team_chats", ["last_message_at"])
    op.create_table(
        "team_members",
        sa.Column("chat_id", sa.Integer, sa.ForeignKey("team_chats.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("read_up_to", BIG_ID, nullable=False),
        sa.Column("joined_at", WHEN, nullable=False),
    )
    op.create_index("ix_team_members_user_id", "team_members", ["user_id"])
    op.create_table(
        "team_messages",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.Integer, sa.ForeignKey("team_chats.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("client_id", sa.Integer, sa.ForeignKey("clients.id", ondelete="SET NULL")),
        sa.Column("created_at", WHEN, nullable=False),
        sa.Column("edited_at", WHEN),
        sa.Column("deleted_at", WHEN),
    )
    op.create_index("ix_team_messages_chat_id_id", "team_messages", ["chat_id", "id"])
    op.create_index("ix_team_messages_created_at", "team_messages", ["created_at"])
    op.create_table(
        "team_mentions",
        sa.Column("message_id", BIG_ID, sa.ForeignKey("team_messages.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
    )
    op.create_index("ix_team_mentions_user_id", "team_mentions", ["user_id"])


def downgrade():
    op.drop_table("team_mentions")
    op.drop_table("team_messages")
    op.drop_table("team_members")
    op.drop_table("team_chats")
