"""Layered fixtures: real Redis, real database (SQLite or PostgreSQL), app, clients per role.

TIDINGS_TEST_DB=sqlite (default) or postgresql picks the backend; the same suite runs on both.
REDIS_TEST_URL points at a Redis to use; otherwise a private redis-server is started.
"""

import os
import shutil
import socket
import subprocess
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from flask import g
from redis import Redis
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from app import create_app
from core.appointments.models import Appointment
from core.auth.models import Role, User
from core.clients.models import Client
from core.extensions import db
from core.jobs import QUEUES

BACKEND = os.environ.get("TIDINGS_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get(
    "DATABASE_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "correct horse battery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real Redis: REDIS_TEST_URL, or a private redis-server for this test session."""
    if os.environ.get("REDIS_TEST_URL"):
        yield os.environ["REDIS_TEST_URL"]
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.exit("redis-server is not installed (apt-get install redis-server)", returncode=3)
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    for _ in range(100):
        try:
            Redis.from_url(url).ping()
            break
        except Exception:
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A fresh database for the session: a SQLite file, or a new PostgreSQL database."""
    if BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'tidings-test.db'}"
        return
    admin_url = make_url(PG_ADMIN_URL)
    name = f"tidings_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def app_config(database_url, redis_url, tmp_path_factory):
    """What the tests change in the configuration."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_ENABLED": False,
        "WTF_CSRF_ENABLED": False,
        "UPLOAD_DIR": tmp_path_factory.mktemp("uploads"),
        "BUSINESS_TIMEZONE": "America/New_York",
        "DEFAULT_REGION": "US",
        # No quiet hours unless a test sets them (a send must not depend on the hour it runs).
        "SENDING_WINDOW_START": "00:00",
        "SENDING_WINDOW_END": "00:00",
    }


@pytest.fixture(scope="session")
def _schema(app_config):
    """Build the schema once, through the Alembic migrations (as production does)."""
    from flask_migrate import upgrade

    app = create_app(app_config)
    with app.app_context():
        upgrade(revision="heads")
        db.engine.dispose()


def _wipe() -> None:
    """Delete every row so each test starts from an empty database."""
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())
            # Triggers on messages write the usage rollup: empty it after the messages.
            conn.execute(db.metadata.tables["usage_rollup"].delete())


def _forget_user() -> None:
    g.pop("_login_user", None)


@pytest.fixture
def app(app_config, _schema):
    """The app with an app context pushed; the database and Redis are emptied afterwards."""
    app = create_app(app_config)
    # The pushed app context outlives each request, and with it `g`, where Flask-Login caches
    # the user: forget it so every request loads its own client's user (several clients per
    # test, or a logout, would otherwise leak one user into the next request).
    app.before_request_funcs.setdefault(None, []).insert(0, _forget_user)
    with app.app_context():
        yield app
        db.session.remove()
        _wipe()
        app.extensions["redis"].flushdb()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Factory: make_user(Role.EDIT, email=...) -> a committed User with PASSWORD."""
    counter = iter(range(1, 10_000))

    def make(role: Role = Role.ADMIN, email: str | None = None, **overrides) -> User:
        user = User(
            email=email or f"{role.name.lower()}{next(counter)}@example.com",
            name=overrides.pop("name", f"{role.label} User"),
            **overrides,
        )
        user.role = role
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def client_for(app, make_user):
    """Factory: client_for(Role.READ_ONLY) -> a test client signed in with that role."""

    def make(role: Role = Role.ADMIN):
        user = make_user(role)
        test_client = app.test_client()
        with test_client.session_transaction() as session:
            session["_user_id"] = str(user.id)
            session["_fresh"] = True
        test_client.user = user
        return test_client

    return make


@pytest.fixture
def admin_client(client_for):
    return client_for(Role.ADMIN)


@pytest.fixture
def make_client(app):
    """Factory: make_client(first_name=..., mobile=...) -> a committed Client."""
    counter = iter(range(1, 100_000))

    def make(**overrides) -> Client:
        n = next(counter)
        values = {
            "first_name": f"Client{n}",
            "last_name": "Test",
            "mobile": f"+1202555{n:04d}",
            "email": f"client{n}@example.com",
            "timezone": "America/New_York",
        }
        values.update(overrides)
        client = Client(**values)
        db.session.add(client)
        db.session.commit()
        return client

    return make


@pytest.fixture
def make_appointment(app, make_client):
    """Factory: make_appointment(client=..., start_at=...) -> a committed Appointment."""

    def make(**overrides) -> Appointment:
        client = overrides.pop("client", None) or make_client()
        tomorrow = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
        start = overrides.pop("start_at", tomorrow)
        values = {
            "client_id": client.id,
            "start_at": start,
            "end_at": overrides.pop("end_at", start + timedelta(hours=1)),
            "title": "Check-up",
            "staff": "Dr. Lee",
            "location": "Main office",
        }
        values.update(overrides)
        appointment = Appointment(**values)
        db.session.add(appointment)
        db.session.commit()
        return appointment

    return make


@pytest.fixture
def run_worker(app):
    """Run a real RQ worker (forking, as in production) until the queues are empty."""
    from worker import make_worker

    def run(queues=QUEUES, with_scheduler: bool = False) -> None:
        db.session.commit()
        worker = make_worker(app, queues)
        worker.work(burst=True, with_scheduler=with_scheduler)
        db.session.expire_all()

    return run


@pytest.fixture
def query_counter(app):
    """Context manager counting the SQL statements run inside it (pins N+1 regressions)."""

    @contextmanager
    def count():
        statements: list[str] = []

        def on_execute(conn, cursor, statement, *args):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", on_execute)
        try:
            yield statements
        finally:
            event.remove(db.engine, "before_cursor_execute", on_execute)

    return count
