"""Appointment list (filters, keyset paging, selection), details, forms and status changes."""

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from blueprints.access import access_of, requires
from blueprints.appointments import bp, selection
from blueprints.appointments.forms import AppointmentForm, FilterForm, StatusForm
from blueprints.rendering import is_htmx, render, see_other
from core.appointments import operations as ops
from core.audit.operations import history
from core.auth.models import Role
from core.automation.status import change_status, status_text
from core.clients import operations as clients
from core.extensions import db
from core.phones import pretty
from core.types import utcnow

COMPOSE = "compose.new"


@bp.app_template_filter("local_time")
def local_time(moment, style: str = "long") -> str:
    """An aware datetime as the business reads it: "Tue 4 Mar 2025, 9:30 AM" (long) or
    "Mar 4, 9:30 AM" (compact; with the year when it is not this one)."""
    if moment is None:
        return ""
    local = ops.to_local(moment)
    clock = f"{local.hour % 12 or 12}:{local:%M} {local:%p}"
    if style == "time":
        return clock
    if style == "compact":
        year = "" if local.year == ops.to_local(utcnow()).year else f" {local.year}"
        return f"{local:%b} {local.day}{year}, {clock}"
    if style == "short":
        return f"{local:%a} {local.day} {local:%b}, {clock}"
    return f"{local:%a} {local.day} {local:%b %Y}, {clock}"


@bp.app_template_filter("long_date")
def long_date(day) -> str:
    """A date as "Tue 4 Mar 2025"."""
    return f"{day:%a} {day.day} {day:%b %Y}" if day else ""


@bp.app_template_filter("pretty_phone")
def pretty_phone(e164) -> str:
    """An E.164 number in international format."""
    return pretty(e164)



def _appointment_or_404(appointment_id: int):
    appointment = ops.get(appointment_id)
    if appointment is None:
        abort(404)
    return appointment


def _filters() -> tuple[ops.Filters, FilterForm]:
    """The filters from the query string; a bad value falls back to the default and says so."""
    form = FilterForm(request.args)
    form.validate()
    filters = ops.default_filters()
    if form.start.data and not form.start.errors:
        filters.start = form.start.data
        filters.end = filters.start + timedelta(days=ops.DEFAULT_DAYS)
    if form.end.data and not form.end.errors:
        filters.end = form.end.data
    filters.text = "" if form.q.errors else (form.q.data or "").strip()
    filters.status = "" if form.status.errors else (form.status.data or "")
    filters.confirmation = "" if form.confirmation.errors else (form.confirmation.data or "")
    form.start.data, form.end.data = filters.start, filters.end
    return filters, form


def _filter_args(filters: ops.Filters) -> dict:
    """The query-string arguments that reproduce `filters` (for pager links)."""
    args = {"start": filters.start.isoformat(), "end": filters.end.isoformat()}
    if filters.text:
        args["q"] = filters.text
    if filters.status:
        args["status"] = filters.status
    if filters.confirmation:
        args["confirmation"] = filters.confirmation
    return args


def _selection_context(page_ids=()) -> dict:
    """What the selection bar and the checkboxes of the page need."""
    rule = access_of(COMPOSE) if COMPOSE in current_app.view_functions else None
    chosen = selection.contains(page_ids)
    return {
        "selected_count": selection.count(),
        "can_compose": rule is not None and (rule == "public" or current_user.can(rule)),
        "page_ids": list(page_ids),
        "chosen": chosen,
        "all_chosen": bool(page_ids) and len(chosen) == len(page_ids),
    }


@bp.route("")
@requires(Role.READ_ONLY)
def index():
    """The appointment list: date range, search and status filters, keyset pages."""
    filters, form = _filters()
    page = ops.list_appointments(
        filters,
        after=request.args.get("after"),
        before=request.args.get("before"),
        size=current_app.config["PAGE_SIZE"],
    )
    ids = [a.id for a in page.rows]
    return render(
        "appointments/index.html",
        "appointments/_table.html",
        form=form,
        results=page,
        counts=ops.message_counts(ids),
        args=_filter_args(filters),
        paged=bool(request.args.get("after") or request.args.get("before")),
        zone=current_app.config["BUSINESS_TIMEZONE"],
        **_selection_context(ids),
    )


def _posted_page_ids() -> list[int]:
    """The ids of the rows on the user's page, sent along by every selection control."""
    raw = request.form.get("page_ids", "")
    ids = [int(part) for part in raw.split(",") if part.strip().isdigit()]
    return sorted(ops.existing_ids(ids[:500]))


def _selection_response(update_rows: bool):
    """The refreshed selection bar; for htmx also the page's checkboxes, swapped out of band."""
    if not is_htmx():
        referrer = request.referrer or ""
        back = referrer if referrer.startswith(request.host_url) else None
        return redirect(back or url_for("appointments.index"), code=303)
    return render_template(
        "appointments/_selection_update.html",
        update_rows=update_rows,
        **_selection_context(_posted_page_ids()),
    )


@bp.route("/<int:appointment_id>/select", methods=["POST"])
@requires(Role.READ_ONLY)
def toggle(appointment_id: int):
    """Tick or untick one appointment (READ_ONLY: selecting writes nothing to the database)."""
    if not ops.existing_ids([appointment_id]):
        abort(404)
    if request.form.get("selected"):
        selection.add([appointment_id])
    else:
        selection.remove([appointment_id])
    return _selection_response(update_rows=False)


@bp.route("/selection/page", methods=["POST"])
@requires(Role.READ_ONLY)
def select_page():
    """Tick or untick every appointment on the current page."""
    ids = _posted_page_ids()
    if request.form.get("selected"):
        selection.add(ids)
    else:
        selection.remove(ids)
    return _selection_response(update_rows=True)


@bp.route("/selection/clear", methods=["POST"])
@requires(Role.READ_ONLY)
def clear_selection():
    """Forget the whole selection."""
    selection.clear()
    return _selection_response(update_rows=True)


@bp.route("/<int:appointment_id>")
@requires(Role.READ_ONLY)
def detail(appointment_id: int):
    """One appointment: client, times, status control, its messages and its history."""
    appointment = _appointment_or_404(appointment_id)
    return render(
        "appointments/detail.html",
        "appointments/_detail.html",
        appointment=appointment,
        status_form=StatusForm(status=appointment.status),
        messages=ops.messages_of(appointment.id),
        events=history(appointment_id=appointment.id),
        same_job=ops.same_job(appointment),
        zone=current_app.config["BUSINESS_TIMEZONE"],
    )


@bp.route("/<int:appointment_id>/status", methods=["POST"])
@requires(Role.EDIT)
def set_status(appointment_id: int):
    """Change the status by hand (audited old → new); En Route / Working / Completed send
    their text exactly as the big buttons do, and the answer says what was sent or why not."""
    appointment = _appointment_or_404(appointment_id)
    form = StatusForm()
    valid = form.validate_on_submit()
    outcome = change_status(appointment, form.status.data, actor=current_user) if valid else None
    if not is_htmx():
        if outcome is None:
            flash("Choose a status from the list.", "error")
        else:
            flash(outcome.text, "success" if outcome.sent else "info")
        return redirect(url_for("appointments.detail", appointment_id=appointment.id), 303)
    html = render_template(
        "appointments/_status_update.html",
        appointment=appointment,
        status_form=form,
        outcome=outcome,
        events=history(appointment_id=appointment.id),
    )
    return html, (200 if valid else 422)


def _form(appointment=None) -> AppointmentForm:
    """The appointment form with its client choices, prefilled from `appointment` on GET."""
    form = AppointmentForm()
    form.client_id.choices = [
        SelectChoice(0, "Choose a client…"),
        *(SelectChoice(id_, label) for id_, label in clients.choices()),
    ]
    if request.method == "GET":
        if appointment is not None:
            _fill(form, appointment)
        else:
            form.client_id.data = request.args.get("client_id", 0, type=int)
    return form


def _fill(form: AppointmentForm, appointment) -> None:
    for name in ("client_id", "title", "staff", "location", "status", "job_number"):
        getattr(form, name).data = getattr(appointment, name) or ""
    form.start_at.data = ops.to_local(appointment.start_at).replace(tzinfo=None)
    form.end_at.data = ops.to_local(appointment.end_at).replace(tzinfo=None)


def _data(form: AppointmentForm) -> ops.AppointmentData:
    """The form's values for the operations; wall-clock times become UTC."""
    return ops.AppointmentData(
        client_id=form.client_id.data,
        start_at=ops.from_local(form.start_at.data, field="start_at"),
        end_at=ops.from_local(form.end_at.data, field="end_at"),
        title=form.title.data,
        staff=form.staff.data,
        location=form.location.data,
        status=form.status.data,
        job_number=form.job_number.data,
    )


def _save(form: AppointmentForm, appointment=None):
    """Run the create or update operation; a refusal lands on the field it concerns. A new
    status sends its text as the status buttons do (said in a flash message)."""
    changes = {}
    try:
        if appointment is None:
            appointment = ops.create_appointment(_data(form), actor=current_user)
        else:
            changes = ops.update_appointment(appointment, _data(form), actor=current_user)
    except ops.AppointmentError as exc:
        db.session.rollback()
        form[exc.field].errors.append(str(exc))
        return None
    db.session.commit()
    if "status" in changes:
        outcome = status_text(appointment, appointment.status, actor=current_user)
        flash(outcome.text, "success" if outcome.sent else "info")
    return appointment


def _form_response(form: AppointmentForm, appointment=None):
    status = 422 if form.is_submitted() else 200
    return render(
        "appointments/form.html", "appointments/_form.html",
        form=form, appointment=appointment, zone=current_app.config["BUSINESS_TIMEZONE"],
    ), status


@bp.route("/new", methods=["GET", "POST"])
@requires(Role.EDIT)
def new():
    """Create an appointment."""
    form = _form()
    if form.validate_on_submit():
        appointment = _save(form)
        if appointment is not None:
            flash("The appointment was added.", "success")
            return see_other(url_for("appointments.detail", appointment_id=appointment.id))
    return _form_response(form)


@bp.route("/<int:appointment_id>/edit", methods=["GET", "POST"])
@requires(Role.EDIT)
def edit(appointment_id: int):
    """Edit an appointment; the changes are recorded on it and on its client."""
    appointment = _appointment_or_404(appointment_id)
    form = _form(appointment)
    if form.validate_on_submit() and _save(form, appointment) is not None:
        flash("The appointment was saved.", "success")
        return see_other(url_for("appointments.detail", appointment_id=appointment.id))
    return _form_response(form, appointment)
