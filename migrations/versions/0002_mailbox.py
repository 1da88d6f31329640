"""mailbox: index messages by recipient address (replies to messages typed to a bare number)

Revision ID: 0002_mailbox
Revises: 0001_initial
"""

from alembic import op

revision = "0002_mailbox"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index("ix_messages_to_addr", ["to_addr", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_to_addr")
