"""Pooled connections: one that sat idle is checked before use, one just used is not."""

import time

import pytest
from sqlalchemy import create_engine, event, text

from core.database import IDLE_PING_SECONDS
from core.extensions import db


@pytest.fixture
def postgresql(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("kills a server-side connection, which needs a database server")


def _backend() -> int:
    pid = db.session.scalar(text("select pg_backend_pid()"))
    db.session.commit()  # the connection goes back to the pool
    return pid


def _terminate(pid: int) -> None:
    """What a database restart does to a pooled connection."""
    other = create_engine(db.engine.url)
    with other.connect() as conn:
        conn.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
    other.dispose()


def test_an_idle_connection_killed_by_the_server_is_replaced_unseen(postgresql):
    before = _backend()
    _terminate(before)
    time.sleep(IDLE_PING_SECONDS + 0.1)

    after = _backend()  # no error: the ping found the dead connection and the pool replaced it

    assert after != before


def test_a_connection_used_a_moment_ago_is_not_pinged(postgresql):
    pings = []
    event.listen(db.engine, "checkout", lambda *args: pings.append(args))  # runs after ours
    original = db.engine.dialect.do_ping
    db.engine.dialect.do_ping = lambda conn: pings.append("ping") or original(conn)
    try:
        _backend()
        pings.clear()
        time.sleep(IDLE_PING_SECONDS + 0.1)
        _backend()  # idle a while: pinged
        for _ in range(5):
            _backend()  # straight after: not pinged
    finally:
        del db.engine.dialect.do_ping
    assert pings.count("ping") == 1
    assert len(pings) - pings.count("ping") == 6  # every transaction checked a connection out
