"""Confirmation routes: the status badge (polled), its change by hand, the list's badges, and
the sending window / confirmation settings."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.access import requires
from blueprints.confirmations import bp
from blueprints.confirmations.forms import ChangeForm, SettingsForm
from blueprints.rendering import is_htmx, polled_ids
from core import settings
from core.appointments.models import Appointment, ConfirmationStatus
from core.auth.models import Role
from core.confirmations import operations as confirmations
from core.extensions import db
from core.messaging import window


@bp.app_context_processor
def _helpers():
    """Templates draw a confirmation badge and read statuses of a page's appointments."""
    return {"confirmation_colour": _colour, "confirmation_label": _label,
            "confirmation_statuses": confirmations.statuses_of,
            "confirmation_form": _form_for}


def _colour(status: str) -> str:
    return confirmations.COLOURS.get(ConfirmationStatus(status), "grey")


def _label(status: str) -> str:
    return ConfirmationStatus(status).label


def _form_for(appointment: Appointment) -> ChangeForm:
    """The change form of the appointment page, set to the current status."""
    return ChangeForm(formdata=None, status=appointment.confirmation_status)


def _appointment_or_404(appointment_id: int) -> Appointment:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None:
        abort(404)
    return appointment


@bp.route("/appointment/<int:appointment_id>/badge")
@requires(Role.READ_ONLY)
def badge(appointment_id: int):
    """The appointment's confirmation badge; the page polls it so a reply shows at once."""
    appointment = _appointment_or_404(appointment_id)
    return render_template("confirmations/_badge.html", appointment=appointment, poll=True)


@bp.route("/appointment/<int:appointment_id>", methods=["POST"])
@requires(Role.EDIT)
def change(appointment_id: int):
    """Set the confirmation status by hand, with the reason on the audit history."""
    appointment = _appointment_or_404(appointment_id)
    form = ChangeForm()
    error = None
    if form.validate_on_submit():
        try:
            confirmations.change(appointment.id, form.status.data, form.reason.data,
                                 actor=current_user)
            db.session.commit()
        except confirmations.ConfirmationError as exc:
            error = str(exc)
    else:
        error = next(iter(form.reason.errors or form.status.errors), "Check the form.")
    if not is_htmx():
        flash(error or "Confirmation status changed.", "error" if error else "success")
        return redirect(url_for("appointments.detail", appointment_id=appointment.id), code=303)
    form = ChangeForm(formdata=None, status=appointment.confirmation_status) if not error else form
    return render_template("confirmations/_card.html", appointment=appointment, form=form,
                           error=error, notice=None if error else "Saved."), 422 if error else 200


@bp.route("/badges")
@requires(Role.READ_ONLY)
def badges():
    """The confirmation badges of the listed appointments, swapped in place (the list polls)."""
    ids = polled_ids()
    return render_template("confirmations/_badges.html", ids=ids,
                           statuses=confirmations.statuses_of(ids))


@bp.route("/settings", methods=["GET", "POST"])
@requires(Role.ADMIN)
def settings_page():
    """The sending window (quiet hours) and what confirmation answers do."""
    form = SettingsForm()
    if form.validate_on_submit():
        settings.save(form.values(), actor=current_user, section="Sending window and confirmations")
        db.session.commit()
        flash("Sending window and confirmation settings saved.", "success")
        return redirect(url_for(".settings_page"), code=303)
    if request.method == "GET":
        current = window.current()
        form.sending_window_start.data, form.sending_window_end.data = current.start, current.end
        values = settings.snapshot(["confirmation_cancel_on_no", "confirmation_timeout_hours"])
        form.confirmation_cancel_on_no.data = bool(values["confirmation_cancel_on_no"])
        form.confirmation_timeout_hours.data = values["confirmation_timeout_hours"]
    return render_template("confirmations/settings.html", form=form), (
        422 if form.errors else 200)
