"""/healthz (alive), /readyz (able to work) and /metrics (Prometheus, token or address)."""

from flask import abort, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST

from blueprints.access import public
from blueprints.health import bp
from core.ops import metrics
from core.ops.guard import metrics_refusal
from core.ops.health import readiness


@bp.route("/healthz")
@public
def healthz():
    """Liveness: the process answers (no database, no Redis)."""
    return "ok\n", 200, {"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}


@bp.route("/readyz")
@public
def readyz():
    """Readiness: database, Redis, a worker seen in the last minute, the sweeper running."""
    checks = readiness()
    ready = all(check.ok for check in checks)
    body = {"status": "ready" if ready else "not ready",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks}}
    response = jsonify(body)
    response.status_code = 200 if ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/metrics")
@public
def metrics_page():
    """Prometheus metrics, for a bearer token (METRICS_TOKEN) and/or addresses (METRICS_ALLOW)."""
    refusal = metrics_refusal(current_app.config, request.headers.get("Authorization", ""),
                              request.remote_addr)
    if refusal == 401:
        return "A bearer token is required.\n", 401, {"WWW-Authenticate": "Bearer"}
    if refusal:
        abort(refusal)
    return metrics.exposition(), 200, {"Content-Type": CONTENT_TYPE_LATEST,
                                       "Cache-Control": "no-store"}
