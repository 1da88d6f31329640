"""Fixtures of the fault drills: the self-answering fake Vonage, counts, and a real worker."""

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.fake import AutoVonage, vonage_env
from core.extensions import db
from core.messaging.models import Message
from tests.fake_vonage import vonage_ca  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
SIZE = int(os.environ.get("DRILL_SIZE", "0"))  # `make bench` runs the drills larger


def size(default: int) -> int:
    """The drill's message count: DRILL_SIZE when set, else the fast default."""
    return SIZE or default


@pytest.fixture
def auto_vonage(vonage_ca, monkeypatch, app):  # noqa: F811
    """Factory: a running AutoVonage; the app (and forked work horses) send through it."""
    ca, path = vonage_ca
    servers = []

    def make(**options) -> AutoVonage:
        server = AutoVonage(ca, **options).start()
        servers.append(server)
        for name, value in vonage_env(server, str(path)).items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        return server

    yield make
    for server in servers:
        server.stop()


def start_worker(app, log=None, **env) -> subprocess.Popen:
    """`python worker.py` against the test database and Redis, in its own process group."""
    full = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"], "SECRET_KEY": app.config["SECRET_KEY"],
            **{k: str(v) for k, v in env.items()}}
    return subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=full,
                            stdout=log or subprocess.DEVNULL, stderr=log or subprocess.DEVNULL,
                            start_new_session=True)


def statuses(broadcast_id=None) -> Counter:
    """Messages per status (of one broadcast, or all outbound)."""
    db.session.commit()
    query = select(Message.status, func.count()).where(Message.direction == "out")
    if broadcast_id is not None:
        query = query.where(Message.broadcast_id == broadcast_id)
    return Counter(dict(db.session.execute(query.group_by(Message.status)).all()))


def report(name: str, **counts) -> None:
    """Print the drill's counts on one line (the README quotes these)."""
    print(f"\nDRILL {name}: " + ", ".join(f"{k}={v}" for k, v in counts.items()), flush=True)


@pytest.fixture
def gunicorn(app):
    """`gunicorn app:create_app()` on a free loopback port (2 workers × 4 threads); its URL."""
    import socket
    import time

    import requests

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": app.config["REDIS_URL"], "SECRET_KEY": app.config["SECRET_KEY"]}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-w", "2",
                             "--threads", "4", "-b", f"127.0.0.1:{port}", "app:create_app()"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                requests.get(f"{url}/login", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


def post(session, url: str, params: dict, tries: int = 5) -> tuple[int, int]:
    """POST like a provider: retry what was not answered 200; (final status, attempts)."""
    import time

    for attempt in range(1, tries + 1):
        try:
            status = session.post(url, data=params, timeout=10).status_code
        except Exception:  # noqa: BLE001 - a dropped connection is retried like a 5xx
            status = 0
        if status == 200:
            return status, attempt
        time.sleep(0.2 * attempt)
    return status, tries
