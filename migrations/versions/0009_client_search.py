"""Client search: pg_trgm GIN indexes on what the client and job-number searches match, so
the Outbox search, the Clients page and Compose's client picker read an index instead of
every client and appointment.

PostgreSQL only. SQLite has no trigram indexes; there the search stays a LIKE scan and this
revision does nothing.

Revision ID: 0009_client_search
Revises: 0006_outbox_search
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_client_search"
down_revision = "0006_outbox_search"
branch_labels = None
depends_on = None

TRIGRAMS = "gin_trgm_ops"
# (index, table, column or expression): the expression is core.clients.models.FULL_NAME.
INDEXES = [
    ("ix_clients_name_trgm", "clients", "((first_name || ' ') || last_name)"),
    ("ix_clients_company_trgm", "clients", "company"),
    ("ix_clients_email_trgm", "clients", "email"),
    ("ix_clients_mobile_trgm", "clients", "mobile"),
    ("ix_appointments_job_number_trgm", "appointments", "job_number"),
]


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # 0006 made it; a restored dump may not
    for name, table, expression in INDEXES:
        # fastupdate off: rows go straight into the index, not a pending list that every
        # search (and the planner's estimate) would have to read until the next VACUUM.
        op.create_index(name, table, [sa.text(f"{expression} {TRIGRAMS}")],
                        postgresql_using="gin", postgresql_with={"fastupdate": "off"})


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table, _expression in reversed(INDEXES):
        op.drop_index(name, table_name=table)
