"""Searching by job number: on PostgreSQL the Outbox's job-number match reads the trigram
index of migration 0009_client_search rather than every appointment."""

import pytest
from sqlalchemy import text

from core.extensions import db
from core.messaging import queries
from core.messaging.queries import Filters
from tests.plans import plan_of_search

FILLER = """
WITH made AS (
    INSERT INTO clients (first_name, last_name, company, contact_method, opted_out,
                         unknown_sender, created_at)
    SELECT 'Client' || g, 'Bench', '', 'email', false, false, now()
    FROM generate_series(1, 30000) AS g
    RETURNING id
)
INSERT INTO appointments (client_id, start_at, end_at, title, staff, location, status,
                          job_number, created_at)
SELECT id, now(), now(), 'Check-up', '', '', 'scheduled', 'J-' || id, now() FROM made
"""
MESSAGES = """
INSERT INTO messages (client_id, appointment_id, direction, channel, to_addr, from_addr, subject,
                      body, status, reason, provider, segments, attempts, created_at)
SELECT client_id, id, 'out', 'email', '', '', '', 'See you soon', 'delivered', '', 'vonage', 1, 1,
       now()
FROM appointments
"""


def test_the_outbox_job_number_match_reads_the_trigram_index_on_postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("trigram indexes exist on PostgreSQL only")
    # Rows, and their statistics, for the planner to weigh the index by.
    db.session.execute(text(FILLER))
    db.session.execute(text(MESSAGES))
    for table in ("clients", "appointments", "messages"):
        db.session.execute(text(f"ANALYZE {table}"))
    db.session.commit()

    assert "ix_appointments_job_number_trgm" in _plan("J-4242")


def _plan(q: str) -> str:
    """EXPLAIN of the Outbox's search for `q`."""
    return plan_of_search(lambda: queries.outbox_page(Filters(q=q)))
