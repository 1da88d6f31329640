"""Client search: what it matches on either database, and (PostgreSQL) that it reads the
trigram indexes of migration 0009_client_search rather than every client."""

import pytest
from sqlalchemy import text

from core.clients.operations import list_clients
from core.extensions import db
from core.messaging.recipients import find_clients
from tests.plans import plan_of_search


def ids(clients) -> list[int]:
    return [c.id for c in clients]


def test_the_full_name_matches_across_the_space_in_any_case(app, make_client):
    ann = make_client(first_name="Ann", last_name="Lee")
    make_client(first_name="Anne", last_name="Stone")
    assert ids(list_clients("ANN LEE").rows) == [ann.id]
    assert ids(list_clients("n le").rows) == [ann.id]


def test_company_matches_in_any_case_and_wildcards_are_literal(app, make_client):
    cafe = make_client(company="Harbor_Cafe 100%")
    make_client(company="HarborXCafe 1000")
    assert ids(list_clients("harbor_cafe").rows) == [cafe.id]
    assert ids(list_clients("100%").rows) == [cafe.id]


def test_compose_picker_finds_a_client_by_email(app, make_client):
    ann = make_client(email="ann.lee@harbor.example")
    make_client(email="bob@summit.example")
    assert ids(find_clients("ANN.LEE@HARBOR")) == [ann.id]


@pytest.mark.parametrize(("typed", "index"), [
    ("Client4242 Bench", "ix_clients_name_trgm"),
    ("Company 4242", "ix_clients_company_trgm"),
    ("(202) 555-4242", "ix_clients_mobile_trgm"),
])
def test_the_clients_page_search_reads_the_trigram_indexes_on_postgresql(app, typed, index):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("trigram indexes exist on PostgreSQL only")
    _fill()
    assert index in _plan(lambda: list_clients(typed))


def test_the_compose_picker_reads_the_email_index_on_postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("trigram indexes exist on PostgreSQL only")
    _fill()
    assert "ix_clients_email_trgm" in _plan(lambda: find_clients("client4242@"))


FILLER = """
INSERT INTO clients (first_name, last_name, company, mobile, email, contact_method, timezone,
                     opted_out, unknown_sender, created_at)
SELECT 'Client' || g, 'Bench', 'Company ' || g, '+1202555' || lpad((g % 10000)::text, 4, '0'),
       'client' || g || '@example.com', 'text', 'America/New_York', false, false, now()
FROM generate_series(1, 30000) AS g
"""


def _fill() -> None:
    """Rows, and their statistics, for the planner to weigh the indexes by."""
    db.session.execute(text(FILLER))
    db.session.execute(text("ANALYZE clients"))
    db.session.commit()


def _plan(search) -> str:
    """EXPLAIN of the first ILIKE statement `search()` runs, planned as in production: no
    enable_seqscan = off, the indexes must win on cost over 30,000 rows."""
    return plan_of_search(search)
