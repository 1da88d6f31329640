"""Settings routes: one form per section, each saved on its own; a test message sent at once."""

import click
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.access import requires
from blueprints.rendering import is_htmx, render
from blueprints.settings import bp
from blueprints.settings.forms import BusinessForm, EmailForm, TestMessageForm, VonageForm
from core import settings
from core.auth.models import Role
from core.extensions import db, limiter
from core.messaging.attachments import _public_base_url as public_base_url
from core.ops.address import mismatch
from core.providers import vonage
from core.providers.operations import send_test_message
from core.providers.registry import describe

SECTIONS = {"vonage": (VonageForm, "Vonage"), "email": (EmailForm, "Email"),
            "business": (BusinessForm, "Business")}


def _forms(**bound) -> dict:
    """Every section's form: the one being submitted as posted, the others from the settings."""
    current = settings.snapshot()
    forms = {}
    for name, (form_class, _) in SECTIONS.items():
        if name in bound:
            forms[name] = bound[name]
            continue
        data = {k: current[k] for k in form_class.SETTING_FIELDS}
        forms[name] = form_class(formdata=None, data=data)
    forms["test"] = bound.get("test") or TestMessageForm(formdata=None)
    return forms


def _context(**extra) -> dict:
    secret_keys = [k for k, spec in settings.SPECS.items() if spec.secret]
    public_url = settings.get("public_url")
    base = public_url or url_for("dashboard.index", _external=True).rstrip("/")
    hooks = {
        "Delivery receipts (SMS API)": vonage.SMS_RECEIPT_PATH,
        "Inbound SMS (SMS API)": vonage.SMS_INBOUND_PATH,
        "Status (Messages API)": vonage.MESSAGES_STATUS_PATH,
        "Inbound (Messages API)": vonage.MESSAGES_INBOUND_PATH,
        "Call events (Voice API)": vonage.VOICE_EVENT_PATH,
    }
    return {
        "hints": {key: settings.hint(key) for key in secret_keys},
        "channels": describe(),
        "webhooks": {label: base + path for label, path in hooks.items()},
        "public_url_set": bool(public_url),
        "address_warning": mismatch(public_base_url(), request.host_url),
        **extra,
    }


@bp.route("/")
@requires(Role.ADMIN)
def index():
    """Credentials of the providers, business details and the test message."""
    return render("settings/index.html", "settings/_sections.html",
                  forms=_forms(), **_context())


def _save_section(name: str):
    """Validate one section, save what changed, answer with the section (or the page)."""
    form_class, label = SECTIONS[name]
    form = form_class()
    current = settings.snapshot()
    if form.validate_on_submit():
        changes = form.changes(current)
        merged = {**current, **{k: v or "" for k, v in changes.items()}}
        if form.check_complete(merged):
            saved = settings.save(changes, actor=current_user, section=label)
            db.session.commit()
            notice = f"{label} settings saved." if saved else "Nothing changed."
            if not is_htmx():
                flash(notice, "success")
                return redirect(url_for("settings.index"), code=303)
            forms = _forms()
            return render_template(f"settings/_{name}.html", form=forms[name], notice=notice,
                                   oob=True, **_context())
    if is_htmx():
        return render_template(f"settings/_{name}.html", form=form, **_context()), 422
    return render_template("settings/index.html", forms=_forms(**{name: form}),
                           **_context()), 422


@bp.route("/vonage", methods=["POST"])
@requires(Role.ADMIN)
def vonage_settings():
    """Save the Vonage credentials and senders."""
    return _save_section("vonage")


@bp.route("/email", methods=["POST"])
@requires(Role.ADMIN)
def email_settings():
    """Save the SMTP relay and sender address."""
    return _save_section("email")


@bp.route("/business", methods=["POST"])
@requires(Role.ADMIN)
def business_settings():
    """Save the business name, phone, time zone and delivery mode."""
    return _save_section("business")


@bp.route("/test", methods=["POST"])
@requires(Role.ADMIN)
@limiter.limit("10 per minute")
def send_test():
    """Send one test message now through the configured provider and show what happened."""
    form = TestMessageForm()
    outcome = None
    status = 422
    if form.validate_on_submit():
        outcome = send_test_message(form.channel.data, form.to.data, actor=current_user)
        status = 200
    if is_htmx():
        return render_template("settings/_test.html", form=form, outcome=outcome), status
    return render_template("settings/index.html", forms=_forms(test=form), outcome=outcome,
                           **_context()), status


@bp.cli.command("rotate-key")
def rotate_key_command():
    """Re-encrypt every stored secret with TIDINGS_ENCRYPTION_KEY (after a key change)."""
    try:
        count = settings.rotate()
    except settings.SettingsError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"re-encrypted {count} secret(s) with the current key")
