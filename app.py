"""Tidings: create_app(), extensions, and the `flask --app app ...` commands."""

from datetime import timedelta

from flask import Flask, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from redis import Redis
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from blueprints.access import enforce_access
from config import INSTANCE_DIR, Config
from core import models  # noqa: F401  (registers every table)
from core.automation import hooks as automation_hooks
from core.conversations import hooks as conversations_hooks
from core.database import ping_when_idle
from core.extensions import csrf, db, htmx, limiter, login_manager, migrate
from core.ops import logs, metrics
from core.secure import hooks as secure_hooks
from core.team import hooks as team_hooks
from core.usage import hooks as usage_hooks


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite: enforce foreign keys and let the worker write while the web reads (WAL)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # WAL + NORMAL: no fsync per commit (delivery commits twice per message); still
        # crash-safe, only a power loss can drop the last commits.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def create_app(config: dict | None = None) -> Flask:
    """Build the Flask app; `config` overrides settings (the tests pass their own)."""
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    app.config["REMEMBER_COOKIE_DURATION"] = timedelta(days=app.config["REMEMBER_COOKIE_DAYS"])
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    logs.init_app(app)  # first: the request id exists before any other hook runs
    metrics.init_app(app)

    _init_extensions(app)
    _register_blueprints(app)
    _connect_features(app)
    _register_hooks(app)
    _register_errors(app)
    _register_commands(app)
    return app


def _init_extensions(app: Flask) -> None:
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})  # not Config's own
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": 30})
    else:
        # A delivery job holds one connection per sender for its whole run, besides the job's
        # own, its heartbeat's and a sender's brief session writes (failures, retries):
        # SQLAlchemy's default pool (5 + 10 overflow) left senders past the 12th waiting
        # for a connection. Connections open only when used, so the web app opens no more.
        senders = int(app.config.get("DELIVERY_SENDERS", 4))
        options.setdefault("pool_size", max(5, senders + 3))
        options.setdefault("max_overflow", max(10, senders))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_when_idle(engine)
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    app.extensions["redis"] = Redis.from_url(app.config["REDIS_URL"])

    from core.auth.sessions import user_for

    login_manager.user_loader(user_for)  # refuses sessions whose generation was ended
    _trust_proxies(app)


def _trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, read the client address and scheme from
    X-Forwarded-For / -Proto; with none (the default) those headers are ignored."""
    hops = int(app.config.get("TRUSTED_PROXIES") or 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def _register_blueprints(app: Flask) -> None:
    from blueprints import registry

    for bp in registry.all_blueprints():
        app.register_blueprint(bp)


def _connect_features(app: Flask) -> None:
    """Features plug into the messaging pipeline's signals (core/messaging/signals.py)."""
    for feature in (secure_hooks, conversations_hooks, automation_hooks, team_hooks,
                    usage_hooks):
        feature.connect(app)


def _register_hooks(app: Flask) -> None:
    app.before_request(enforce_access)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.add("Vary", "HX-Request")
        if app.config["SESSION_COOKIE_SECURE"]:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if request.endpoint != "static" and current_user.is_authenticated:
            headers["Cache-Control"] = "no-store"  # staff pages hold personal data
        return response

    from blueprints.rendering import plural

    app.add_template_filter(plural)  # "1 segment", "2 segments" on every page

    @app.context_processor
    def inject_settings():
        from core.auth.models import Role

        return {
            "Role": Role,
            "business_name": app.config["BUSINESS_NAME"],
            "endpoints": app.view_functions,
        }


def _register_errors(app: Flask) -> None:
    def page(status: int, title: str, text: str):
        if request.headers.get("HX-Request") == "true":
            return render_template("_error.html", title=title, text=text), status
        return render_template("error.html", title=title, text=text), status

    app.register_error_handler(
        403, lambda e: page(403, "Not allowed", "Your role does not allow this page or action.")
    )
    app.register_error_handler(404, lambda e: page(404, "Not found", "There is nothing here."))
    app.register_error_handler(
        413,
        lambda e: page(
            413,
            "File too large",
            f"Uploads are limited to {app.config['MAX_CONTENT_LENGTH'] // (1024 * 1024)} MB. "
            "Nothing was saved.",
        ),
    )
    app.register_error_handler(
        429, lambda e: page(429, "Too many attempts", "Please wait a minute and try again.")
    )
    app.register_error_handler(
        CSRFError,
        lambda e: page(400, "Form expired", "The form expired. Reload the page and try again."),
    )


def _register_commands(app: Flask) -> None:
    from core.cli import register

    register(app)
