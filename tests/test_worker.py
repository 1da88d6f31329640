"""A forked work horse never talks down a database connection its parent still holds."""

import pytest
from sqlalchemy import text

from core.extensions import db
from core.jobs import queue, redis
from worker import make_worker


def record_backend(key: str) -> None:
    """The job: note which PostgreSQL backend served this process."""
    redis().set(key, db.session.scalar(text("select pg_backend_pid()")))
    db.session.commit()


def test_a_work_horse_opens_its_own_connection_while_the_parent_holds_one(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("identifies connections by PostgreSQL's backend pid")
    ours = db.session.scalar(text("select pg_backend_pid()"))  # a transaction left open
    queue("default").enqueue(record_backend, "horse-backend")

    make_worker(app, ["default"]).work(burst=True)

    assert redis().get("horse-backend") is not None, "the job did not run"
    assert int(redis().get("horse-backend")) != ours
    assert db.session.scalar(text("select pg_backend_pid()")) == ours  # ours is intact
