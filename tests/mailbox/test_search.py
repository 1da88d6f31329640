"""Outbox search: every way a message matches, in keyset order, and (PostgreSQL) on an index."""

import pytest
from sqlalchemy import text

from core.extensions import db
from core.messaging import queries
from core.messaging.models import Broadcast, Status
from core.messaging.queries import Filters
from tests.mailbox.conftest import minutes
from tests.plans import plan_of_search


def ids(page) -> list[int]:
    return [row.message.id for row in page.rows]


def broadcast(body: str, subject: str = "") -> Broadcast:
    sent = Broadcast(channel="sms", subject=subject, body=body, recipients={}, status="sent")
    db.session.add(sent)
    db.session.commit()
    return sent


def test_a_broadcast_message_is_found_by_the_text_it_was_composed_with(
    make_client, make_message
):
    ann, bob = make_client(first_name="Ann"), make_client(first_name="Bob")
    notice = broadcast("Closed today: snow. See you soon, {{ first_name }}")
    to_ann = make_message(ann, broadcast_id=notice.id, body="Closed today: snow. See you soon, Ann")
    make_message(bob, broadcast_id=broadcast("Open as usual").id, body="Open as usual")

    assert ids(queries.outbox_page(Filters(q="SNOW"))) == [to_ann.id]
    assert ids(queries.outbox_page(Filters(q="ann"))) == [to_ann.id]  # by its client


def test_a_message_of_no_broadcast_is_found_by_a_word_of_its_body(make_client, make_message):
    reply = make_message(make_client(), body="Running a little late, sorry")
    make_message(make_client(), body="On my way")

    assert ids(queries.outbox_page(Filters(q="little LATE"))) == [reply.id]


def test_results_of_every_kind_of_match_come_newest_first_and_page_by_keyset(
    make_client, make_appointment, make_message
):
    ann = make_client(first_name="Ann", last_name="Marsh")
    other = make_client(first_name="Bob", last_name="Stone")
    job = make_appointment(client=other, job_number="MARSH-7")
    notice = broadcast("Marsh Road is closed")
    found = [
        make_message(ann, created_at=minutes(1)),  # by client name
        make_message(other, body="Parking on marsh lane", created_at=minutes(2)),  # by body
        make_message(other, job, created_at=minutes(3)),  # by job number
        make_message(other, broadcast_id=notice.id, body="Marsh Road is closed",
                     created_at=minutes(4)),  # by its broadcast's text
        make_message(to_addr="marsh@example.net", channel="email", created_at=minutes(5)),
    ]
    make_message(other, body="Nothing to see", created_at=minutes(6))
    newest_first = [m.id for m in reversed(found)]

    first = queries.outbox_page(Filters(q="marsh"), limit=2)
    second = queries.outbox_page(Filters(q="marsh"), before_id=first.older, limit=2)
    third = queries.outbox_page(Filters(q="marsh"), before_id=second.older, limit=2)
    back = queries.outbox_page(Filters(q="marsh"), after_id=third.newer, limit=2)

    assert ids(first) + ids(second) + ids(third) == newest_first
    assert third.older is None and ids(back) == ids(second)


def test_search_and_status_filter_together(make_client, make_message):
    ann = make_client(first_name="Ann")
    failed = make_message(ann, status=Status.FAILED, reason="Invalid number")
    make_message(ann, status=Status.DELIVERED)
    sister = make_message(make_client(), status=Status.FAILED, body="For Ann's sister")

    assert ids(queries.outbox_page(Filters(q="Ann", status="failed"))) == [sister.id, failed.id]


def test_search_reads_the_trigram_index_on_postgresql(make_message):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("trigram indexes exist on PostgreSQL only")
    make_message(body="Closed today: snow day")
    # Rows, and their statistics, for the planner to weigh the indexes by.
    db.session.execute(text(FILLER))
    db.session.execute(text("ANALYZE messages"))
    db.session.commit()

    assert "ix_messages_text_trgm" in _plan("snow day")


FILLER = """
INSERT INTO messages (direction, channel, to_addr, from_addr, subject, body, status, reason,
                      provider, segments, attempts, created_at)
SELECT 'out', 'sms', '+1202555' || lpad((g % 10000)::text, 4, '0'), '', '',
       'Reminder number ' || g, 'delivered', '', 'vonage', 1, 1, now()
FROM generate_series(1, 30000) AS g
"""


def _plan(q: str) -> str:
    """EXPLAIN of the Outbox's search for `q` (30,000 rows are still few to scan)."""
    return plan_of_search(lambda: queries.outbox_page(Filters(q=q)), seqscan=False)
