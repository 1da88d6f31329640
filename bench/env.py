"""What every benchmark needs: its own redis-server, a fresh database, the app, a worker.

Each piece cleans up after itself (context managers), so an interrupted run leaves no
database or server behind.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from redis import Redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("DATABASE_TEST_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def redis_server():
    """A private redis-server on a free port; yields its URL."""
    port, workdir = free_port(), tempfile.mkdtemp(prefix="bench-redis-")
    proc = subprocess.Popen([shutil.which("redis-server"), "--port", str(port), "--bind",
                             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
                            stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            try:
                Redis.from_url(url).ping()
                break
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def database(backend: str):
    """A fresh PostgreSQL database on 127.0.0.1, or a temporary SQLite file; yields its URL."""
    if backend == "sqlite":
        workdir = tempfile.mkdtemp(prefix="bench-db-")
        try:
            yield f"sqlite:///{workdir}/bench.db"
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return
    admin_url = make_url(PG_ADMIN_URL)
    name = f"tidings_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def config(database_url: str, redis_url: str, **extra) -> dict:
    """The app configuration of a benchmark."""
    return {"TESTING": True, "SECRET_KEY": "bench-secret", "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url, "RATELIMIT_STORAGE_URI": redis_url, "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False, "BUSINESS_TIMEZONE": "America/New_York",
            "DEFAULT_REGION": "US", "PROVIDER_RATE_PER_SECOND": 0,
            # No quiet hours: a run at night would otherwise hold every text for the morning
            # (scheduled jobs instead of queued ones) and measure something else.
            "SENDING_WINDOW_START": "00:00", "SENDING_WINDOW_END": "00:00", **extra}


@contextmanager
def application(backend: str, **extra):
    """The app on a fresh database (migrated to every head) and a private Redis, context pushed."""
    sys.path.insert(0, str(ROOT))
    from flask_migrate import upgrade

    from app import create_app
    from core.extensions import db

    with redis_server() as redis_url, database(backend) as database_url:
        app = create_app(config(database_url, redis_url, **extra))
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"), revision="heads")
            try:
                yield app
            finally:
                db.session.remove()
                db.engine.dispose()


def worker_env(app, **extra) -> dict:
    """The environment of a `python worker.py` process for this app."""
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": app.config["REDIS_URL"], "SECRET_KEY": app.config["SECRET_KEY"],
           "PROVIDER_RATE_PER_SECOND": str(app.config.get("PROVIDER_RATE_PER_SECOND", 0))}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def start_worker(app, log=None, **extra) -> subprocess.Popen:
    """`python worker.py` in its own process group (so it can be killed with its work horses)."""
    return subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=worker_env(app, **extra),
                            stdout=log or subprocess.DEVNULL, stderr=log or subprocess.DEVNULL,
                            start_new_session=True)


def stop(proc: subprocess.Popen, timeout: float = 60) -> None:
    """Warm-stop a worker (SIGTERM to its group), then kill -9 it, its work horse and its
    scheduler if it lingers."""
    import signal

    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        from tests.processes import kill_worker  # its horse left the group (setsid)

        kill_worker(proc)


def start_web(args: list[str], port: int, env: dict | None = None, stderr=None,
              tries: int = 300) -> subprocess.Popen:
    """`gunicorn <args> -b 127.0.0.1:<port> <target>` in its own process group, returned once
    /healthz answers (as `make run` serves the app); RuntimeError when it never does."""
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", *args], cwd=ROOT, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=stderr or subprocess.DEVNULL)
    import requests

    for _ in range(tries):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return proc
        except requests.RequestException:
            time.sleep(0.1)
    proc.terminate()
    proc.wait(30)
    raise RuntimeError("gunicorn did not start")


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    """(seconds, result) of one call."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def p95(samples: list[float]) -> float:
    """The 95th percentile (nearest rank) of `samples`."""
    ordered = sorted(samples)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)]


def line(name: str, value: str, note: str = "") -> None:
    """Print one figure, aligned."""
    print(f"  {name:<44} {value:>14}  {note}", flush=True)
