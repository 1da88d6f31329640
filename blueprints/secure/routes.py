"""Staff routes of secure messages; each action is audited by core.secure.lifecycle."""

from flask import abort, flash, render_template, url_for
from flask_login import current_user

from blueprints.access import requires
from blueprints.rendering import see_other
from blueprints.secure import bp
from blueprints.secure.forms import ActionForm, SecureSettingsForm
from core.auth.models import Role
from core.extensions import db
from core.secure import lifecycle
from core.secure import operations as secure_ops
from core.secure.models import SecureMessage
from core.settings import business_name


@bp.app_context_processor
def secure_helpers():
    """Helpers for other pages: a message's secure record, and whether compose offers it."""
    return {
        "secure_for": lifecycle.for_message,
        "secure_state": lifecycle.state_of,
        "secure_enabled": secure_ops.enabled,
        "secure_default_hours": secure_ops.lifetime_default,
        "secure_action_form": ActionForm,
        "portal_business_name": business_name,
        "is_secure_notice": lambda message: secure_ops.SLOT in (message.body or ""),
    }


@bp.route("/settings", methods=["GET", "POST"])
@requires(Role.ADMIN)
def settings_page():
    """Admins: enable secure messaging, the notice texts, default lifetime and PIN rule."""
    form = SecureSettingsForm.from_config(secure_ops.config())
    status = 200
    if form.validate_on_submit():
        values = {name: form[name].data for name in secure_ops.DEFAULTS
                  if name != "lifetime_hours"}
        values["lifetime_hours"] = form.lifetime_hours()
        try:
            secure_ops.save_config(values, actor=current_user)
        except secure_ops.SecureError as exc:
            form.form_errors.append(str(exc))
            status = 422
        else:
            flash("Secure messaging settings saved.", "success")
            return see_other(url_for("secure.settings_page"))
    elif form.is_submitted():
        status = 422
    return render_template("secure/settings.html", form=form), status


def _act(secure_id: int, action, done: str):
    """Run one staff action and go back to the notice's page."""
    if db.session.get(SecureMessage, secure_id) is None:
        abort(404)
    if not ActionForm().validate():
        abort(400)
    try:
        action(secure_id, actor=current_user)
    except secure_ops.SecureError as exc:
        flash(str(exc), "error")
    else:
        flash(done, "success")
    notice = secure_ops.notice_of(db.session.get(SecureMessage, secure_id))
    db.session.commit()
    return see_other(url_for("mailbox.detail", message_id=notice.id) if notice is not None
                     else url_for("mailbox.outbox"))


@bp.route("/<int:secure_id>/revoke", methods=["POST"])
@requires(Role.EDIT)
def revoke(secure_id: int):
    """Kill the link now."""
    return _act(secure_id, lifecycle.revoke, "The secure link was revoked.")


@bp.route("/<int:secure_id>/unlock", methods=["POST"])
@requires(Role.EDIT)
def unlock(secure_id: int):
    """Give the recipient five new PIN attempts."""
    return _act(secure_id, lifecycle.unlock, "The secure link was unlocked.")


@bp.route("/<int:secure_id>/resend", methods=["POST"])
@requires(Role.EDIT)
def resend(secure_id: int):
    """Send a fresh link; the old one stops working."""
    return _act(secure_id, _resend, "A fresh secure link is on its way; the old one is dead.")


def _resend(secure_id: int, *, actor):
    lifecycle.resend(secure_id, actor=actor)


@bp.cli.command("rotate-key")
def rotate_key_command():
    """Re-encrypt secure messages and files with TIDINGS_ENCRYPTION_KEY (after settings')."""
    import click

    click.echo(f"Re-encrypted {lifecycle.rotate()} secure item(s) with the primary key.")
