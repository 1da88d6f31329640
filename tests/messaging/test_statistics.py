"""A large fan-out leaves the messages table with statistics that know its rows (PostgreSQL):
the Outbox is then planned for the table it reads, not for the few rows of before."""

import pytest
from sqlalchemy import text

from core.extensions import db
from core.messaging import tasks
from tests.messaging.delivery_support import bulk_appointments, make_broadcast, statuses


@pytest.fixture(autouse=True)
def _postgresql_only(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("ANALYZE after a fan-out is PostgreSQL's (SQLite plans without it)")


def _analyses() -> int:
    """How many times ANALYZE (by hand, not autovacuum's) ran on the messages table."""
    db.session.commit()
    db.session.execute(text("SELECT pg_stat_clear_snapshot()"))
    return db.session.scalar(text(
        "SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'messages'"))


def _estimated_rows() -> float:
    return db.session.scalar(text("SELECT reltuples FROM pg_class WHERE relname = 'messages'"))


def test_a_fan_out_of_more_than_the_threshold_analyzes_the_messages(app, fast):
    app.config["ANALYZE_AFTER_ROWS"] = 30
    broadcast = make_broadcast(bulk_appointments(40))
    before = _analyses()

    assert tasks.fan_out(broadcast.id) == 40

    assert _analyses() == before + 1
    assert _estimated_rows() == 40  # the planner now knows the table holds 40 messages
    assert statuses(broadcast.id) == {"queued": 40}


def test_a_small_fan_out_leaves_the_statistics_to_autovacuum(app, fast):
    app.config["ANALYZE_AFTER_ROWS"] = 50
    broadcast = make_broadcast(bulk_appointments(40))
    before = _analyses()

    assert tasks.fan_out(broadcast.id) == 40

    assert _analyses() == before
