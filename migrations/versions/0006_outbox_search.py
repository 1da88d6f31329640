"""Outbox search: pg_trgm GIN indexes, so a "contains" search over a million messages reads an
index instead of every row.

PostgreSQL only. SQLite has no trigram indexes; there the search stays a LIKE scan and this
revision does nothing.

Revision ID: 0006_outbox_search
Revises: 0005_mobile_kind
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_outbox_search"
down_revision = "0005_mobile_kind"
branch_labels = None
depends_on = None

TRIGRAMS = "gin_trgm_ops"


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # Partial: a broadcast's messages are searched through the broadcast, a client's through
    # the client, so a mass send and its status updates never write to these indexes.
    op.create_index("ix_messages_text_trgm", "messages", ["body", "subject"],
                    postgresql_using="gin",
                    postgresql_ops={"body": TRIGRAMS, "subject": TRIGRAMS},
                    postgresql_where=sa.text("broadcast_id IS NULL"))
    op.create_index("ix_messages_address_trgm", "messages", ["to_addr", "from_addr"],
                    postgresql_using="gin",
                    postgresql_ops={"to_addr": TRIGRAMS, "from_addr": TRIGRAMS},
                    postgresql_where=sa.text("client_id IS NULL"))


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_messages_address_trgm", table_name="messages")
    op.drop_index("ix_messages_text_trgm", table_name="messages")
    # pg_trgm stays: other databases objects may use it, and it costs nothing unused.
