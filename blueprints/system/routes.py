"""System page routes: look at RQ and the messages in doubt; retry or delete failed jobs and
settle messages in reconcile (POST with CSRF, admins only)."""

import logging

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.access import requires
from blueprints.rendering import is_htmx, render
from blueprints.system import bp
from core.auth.models import Role
from core.extensions import db
from core.ops import system

log = logging.getLogger(__name__)


def _context(**extra) -> dict:
    return {"queues": system.queue_stats(), "workers": system.workers(),
            "failed": system.failed_jobs(), "scheduled": system.scheduled_jobs(),
            "reconcile": system.reconcile_messages(), **extra}


def _done(notice: str, error: bool = False):
    """After an action: the panel for htmx, else a flash and a 303 back to the page."""
    if is_htmx():
        return render_template("system/_panel.html", notice=notice, error=error,
                               **_context()), 422 if error else 200
    flash(notice, "error" if error else "success")
    return redirect(url_for("system.index"), code=303)


@bp.route("/")
@requires(Role.ADMIN)
def index():
    """Queues and their depth, workers, failed and scheduled jobs, messages in reconcile."""
    return render("system/index.html", "system/_panel.html", **_context())


@bp.route("/jobs/<job_id>/retry", methods=["POST"])
@requires(Role.ADMIN)
def retry_job(job_id: str):
    """Put a failed job back on its queue."""
    try:
        what = system.retry_failed(job_id)
    except system.SystemError as exc:
        return _done(str(exc), error=True)
    log.info("failed job %s retried by user %s", job_id, current_user.id)
    return _done(f"Queued again: {what}.")


@bp.route("/jobs/<job_id>/delete", methods=["POST"])
@requires(Role.ADMIN)
def delete_job(job_id: str):
    """Delete a failed job."""
    try:
        what = system.delete_failed(job_id)
    except system.SystemError as exc:
        return _done(str(exc), error=True)
    log.info("failed job %s deleted by user %s", job_id, current_user.id)
    return _done(f"Deleted: {what}.")


@bp.route("/messages/<int:message_id>/settle", methods=["POST"])
@requires(Role.ADMIN)
def settle_message(message_id: int):
    """Mark a message whose outcome is unknown as sent or failed (audited)."""
    outcome = request.form.get("outcome", "")
    try:
        system.settle(message_id, outcome, current_user)
    except system.SystemError as exc:
        return _done(str(exc), error=True)
    db.session.commit()
    return _done(f"Message {message_id} marked {outcome}.")
