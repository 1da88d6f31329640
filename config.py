"""Settings read from the environment (and a `.env` file), with defaults that run anywhere."""

import os
import secrets
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("TIDINGS_INSTANCE_DIR", BASE_DIR / "instance"))
load_dotenv(BASE_DIR / ".env")


def env_bool(name: str, default: bool) -> bool:
    """Read a yes/no environment variable."""
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def database_url(url: str | None) -> str:
    """Default to SQLite under instance/ and make PostgreSQL URLs use psycopg 3."""
    if not url:
        return f"sqlite:///{INSTANCE_DIR / 'tidings.db'}"
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _secret_key() -> str:
    """Use SECRET_KEY, or a random key kept in instance/ so sessions survive restarts."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    """Production-safe defaults; every value can be set through the environment."""

    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}  # connections are pinged when idle: core/database.py
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

    BUSINESS_NAME = os.environ.get("BUSINESS_NAME", "Tidings Demo Clinic")
    BUSINESS_TIMEZONE = os.environ.get("BUSINESS_TIMEZONE", "America/New_York")
    DEFAULT_REGION = os.environ.get("DEFAULT_REGION", "US")

    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_UPLOAD_BYTES", 5 * 1024 * 1024))
    UPLOAD_DIR = Path(os.environ.get("UPLOAD_DIR", INSTANCE_DIR / "uploads"))

    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # "Keep me signed in" lasts this many days at most (Flask-Login's default is 365).
    REMEMBER_COOKIE_DAYS = int(os.environ.get("REMEMBER_COOKIE_DAYS", 30))  # create_app applies
    # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are believed (0: none).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", 0))
    WTF_CSRF_TIME_LIMIT = None

    RATELIMIT_STORAGE_URI = REDIS_URL
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    # PIN attempts per IP address on the secure-message portal (unset: the portal's default).
    PORTAL_PIN_RATE_LIMIT = os.environ.get("PORTAL_PIN_RATE_LIMIT") or None

    # Delivery pipeline: provider calls per second, shared by every worker (0 = no limit), and
    # how long a job holds a queued message before the sweeper may hand it to another job.
    PROVIDER_RATE_PER_SECOND = float(os.environ.get("PROVIDER_RATE_PER_SECOND", 30))
    # The limiter's "second" in seconds: room for jitter between us and the provider's clock.
    PROVIDER_RATE_SLACK = float(os.environ.get("PROVIDER_RATE_SLACK", 1.15))
    DELIVERY_LEASE_SECONDS = int(os.environ.get("DELIVERY_LEASE_SECONDS", 600))
    # A running delivery job holds its messages for this long and renews the hold every third
    # of it: a worker killed mid-job lets go of its messages within this plus one sweep.
    DELIVERY_RUNNING_LEASE_SECONDS = int(os.environ.get("DELIVERY_RUNNING_LEASE_SECONDS", 30))
    # Senders side by side in one delivery job (threads, each with its own connection); a
    # worker killed mid-job leaves at most this many messages to reconcile.
    DELIVERY_SENDERS = int(os.environ.get("DELIVERY_SENDERS", 4))
    # The mass-send page waits this long for the next delivery receipt before it stops checking.
    RECEIPT_WAIT_SECONDS = int(os.environ.get("RECEIPT_WAIT_SECONDS", 120))
    PAGE_SIZE = int(os.environ.get("PAGE_SIZE", 25))
    # A send to more appointments than this is counted in SQL in the request and planned in full
    # by the fan-out job (smaller sends are planned, and refused exactly, in the request).
    COMPOSE_SYNC_PLAN_LIMIT = int(os.environ.get("COMPOSE_SYNC_PLAN_LIMIT", 1000))
    # A fan-out that wrote at least this many messages ANALYZEs the table (PostgreSQL), so the
    # Outbox is planned on statistics that know those rows before autovacuum gets round to it.
    ANALYZE_AFTER_ROWS = int(os.environ.get("ANALYZE_AFTER_ROWS", 10_000))

    # Operations (core/ops): log lines as text or JSON; who may read /metrics (a bearer token
    # and/or addresses; with neither, only 127.0.0.1 and ::1).
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text").strip().lower()
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
    METRICS_ALLOW = os.environ.get("METRICS_ALLOW", "")


class TestConfig(Config):
    """What the test suite changes: its own database, its own Redis, no CSRF on API-style posts."""

    TESTING = True
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
