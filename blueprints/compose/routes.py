"""Compose routes: the form, its live counter and preview, sending, progress, scheduled sends."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from blueprints.access import requires
from blueprints.compose import bp
from blueprints.compose.forms import ComposeForm, EditForm
from blueprints.rendering import is_htmx, render, see_other
from core.appointments.models import Appointment
from core.auth.models import Role, User
from core.automation.templates import all_templates
from core.clients.models import Client
from core.extensions import csrf, db
from core.messaging import attachments as files
from core.messaging import compose, receipt_watch, window
from core.messaging.models import Broadcast, Channel
from core.messaging.recipients import client_names
from core.messaging.templating import FIELD_LABELS, format_time
from core.phones import pretty
from core.secure import operations as secure_ops
from core.types import utcnow
from core.usage import quotas
from core.usage.costs import broadcast_cost

UPLOAD_LIMIT = 11 * files.MB  # 10 MB of email files plus the form itself
UPLOAD_FIELDS = {Channel.MMS: "images", Channel.EMAIL: "files", Channel.VOICE: "audio"}
PREVIEW_ROWS = 200


def _selection():
    """The Appointments page's selection module, when that feature is installed."""
    try:
        from blueprints.appointments import selection
    except ImportError:
        return None
    return selection


def _selected_ids() -> list[int]:
    selection = _selection()
    return selection.selected_ids() if selection else []


def _recipients(form: ComposeForm) -> dict:
    """The recipients spec the form describes (a typed address wins over a picked client)."""
    if form.recipients.data == "selected":
        return {"appointment_ids": _selected_ids()}
    if (form.address.data or "").strip():
        return {"address": form.address.data.strip()}
    if (form.client_id.data or "").isdigit():
        return _about_appointment(form) or {"client_id": int(form.client_id.data)}
    return {}


def _about_appointment(form: ComposeForm) -> dict | None:
    """The appointment "Text this client" came from, while its client is the one picked."""
    value = form.appointment_id.data or ""
    appointment = db.session.get(Appointment, int(value)) if value.isdigit() else None
    if appointment is None or str(appointment.client_id) != form.client_id.data:
        return None
    return {"appointment_ids": [appointment.id]}


def _uploads(form: ComposeForm) -> list[files.Upload]:
    """The files of the chosen channel's upload field (the other fields are ignored)."""
    name = UPLOAD_FIELDS.get(form.channel.data)
    if form.channel.data == Channel.SMS and form.secure.data:
        name = "files"  # a secure text's files wait in the portal
    if name is None:
        return []
    chosen = getattr(form, name).data
    chosen = chosen if isinstance(chosen, list) else [chosen]
    return [files.Upload(f.filename or "", f.read()) for f in chosen if f and f.filename]


def _draft(form: ComposeForm) -> dict:
    return {
        "channel": form.channel.data,
        "recipients": _recipients(form),
        "subject": form.subject.data or "",
        "body": form.body.data or "",
        "options": form.options(),
    }


def _picked_client(form: ComposeForm) -> Client | None:
    value = form.client_id.data or ""
    return db.session.get(Client, int(value)) if value.isdigit() else None


def _page(form: ComposeForm, status: int = 200):
    """The compose page with the form as it stands."""
    picked = _picked_client(form)
    context = {
        "form": form,
        "selected": len(_selected_ids()),
        "fields": FIELD_LABELS,
        "clients": [picked] if picked else [],
        "picked_id": picked.id if picked else None,
        "count": _count_context(form, measure=bool(form.body.data)),
        "preview": None,
        "message_templates": all_templates(),  # "Insert template"
    }
    return render_template("compose/new.html", **context), status


@bp.route("/")
@requires(Role.EDIT)
def new():
    """The compose form; ?client_id= picks one client (&appointment_id= one of theirs for the
    merge fields), ?channel= a channel."""
    form = ComposeForm(formdata=None)
    form.secure_require_pin.data = secure_ops.pin_required_by_default()
    if request.args.get("channel") in {c.value for c in Channel}:
        form.channel.data = request.args["channel"]
    if request.args.get("client_id", "").isdigit():
        form.client_id.data = request.args["client_id"]
        form.appointment_id.data = request.args.get("appointment_id", "")
    elif _selected_ids():
        form.recipients.data = "selected"
    return _page(form)


@bp.route("/", methods=["POST"])
@requires(Role.EDIT)
@csrf.exempt  # the form checks its own CSRF token after the upload limit below is raised
def send():
    """Validate and send (or schedule); then show the send's progress."""
    request.max_content_length = UPLOAD_LIMIT
    try:
        form = ComposeForm()
        uploads = _uploads(form) if form.validate() else None
    except RequestEntityTooLarge:
        form = ComposeForm(formdata=None)
        form.form_errors.append(
            f"The files are larger than {UPLOAD_LIMIT // files.MB} MB together. Nothing was sent."
        )
        return _page(form, 413)
    if uploads is None:
        if getattr(form, "csrf_token", None) is not None and form.csrf_token.errors:
            form.form_errors.append("The form expired. Reload the page and try again.")
        return _page(form, 422)
    try:
        broadcast = compose.create_broadcast(
            actor=current_user, send_at=form.send_at(), attachments=uploads, **_draft(form),
            secure=_secure(form),
        )
    except compose.ComposeError as exc:
        form.form_errors.append(str(exc))
        return _page(form, 422)
    if form.recipients.data == "selected" and _selection():
        _selection().clear()
    flash(_sent_message(broadcast), "success")
    return redirect(url_for("compose.broadcast", broadcast_id=broadcast.id), code=303)


def _secure(form: ComposeForm) -> dict | None:
    """The secure options of the form, when "Send securely" is ticked."""
    if not form.secure.data:
        return None
    return {"pin": form.secure_pin.data or "", "lifetime_hours": form.secure_hours.data,
            "require_pin": bool(form.secure_require_pin.data)}


def _sent_message(broadcast: Broadcast) -> str:
    label = compose.CHANNEL_LABELS[broadcast.channel]
    if broadcast.status == compose.SCHEDULED:
        return f"{label} scheduled for {compose.local_label(broadcast.send_at)}."
    return f"{label} is on its way."


def _count_context(form: ComposeForm, measure: bool = True) -> dict:
    """What the counter shows: the plan's figures on the merged text, or why there are none."""
    context = {"channel": form.channel.data, "summary": None, "error": None,
               "price": current_app.config.get("SMS_PRICE_PER_SEGMENT", 0.0079),
               "quota": quotas.left(form.options()["category"])}
    if not measure:
        return context
    try:
        context["summary"] = compose.estimate(**_draft(form))
    except compose.ComposeError as exc:
        context["error"] = str(exc)
    return context


@bp.route("/count", methods=["POST"])
@requires(Role.EDIT)
def count():
    """The authoritative counter: characters, encoding, segments and cost after merging."""
    form = ComposeForm(meta={"csrf": False})
    return render_template("compose/_count.html", count=_count_context(form))


@bp.route("/preview", methods=["POST"])
@requires(Role.EDIT)
def preview():
    """A dry run: one row per recipient with the text it gets, when, or why it is skipped."""
    form = ComposeForm(meta={"csrf": False})
    context = {"preview": None, "preview_error": None}
    if form.when.data == "later" and form.send_at() is None:
        context["preview_error"] = "Choose the date and time to send at."
        return render_template("compose/_preview.html", **context)
    try:
        summary = compose.estimate(send_at=form.send_at(), keep=PREVIEW_ROWS, **_draft(form))
        context["preview"] = _preview_rows(summary)
    except compose.ComposeError as exc:
        context["preview_error"] = str(exc)
    return render_template("compose/_preview.html", **context)


def _preview_rows(summary) -> dict:
    """The kept rows with each recipient's name and the appointments merged into one message
    (two queries)."""
    names = client_names({r.client_id for r in summary.rows if r.client_id})
    merged = {i for r in summary.rows if len(r.merged) > 1 for i in r.merged}
    return {"summary": summary, "names": names, "now": utcnow(),
            "appointments": compose.appointment_labels(merged)}


# ---- one send: confirmation and progress ------------------------------------------------


def _broadcast_or_404(broadcast_id: int) -> Broadcast:
    broadcast = db.session.get(Broadcast, broadcast_id)
    if broadcast is None:
        abort(404)
    return broadcast


def _progress(broadcast: Broadcast) -> dict:
    """Counts from the pipeline, plus what the bar and the poller need (receipts included)."""
    progress = compose.progress_of(broadcast)
    progress.update(receipt_watch.watch(broadcast.id, progress, request.args.get("seen", ""),
                                        request.args.get("since", "")))
    return progress


def _broadcast_context(broadcast: Broadcast) -> dict:
    return {
        "broadcast": broadcast,
        "progress": _progress(broadcast),
        "cost": broadcast_cost(broadcast.id),
        "attachments": files.for_broadcast(broadcast.id),
        "who": compose.describe_recipients(broadcast.recipients),
        "changeable": compose.is_changeable(broadcast),
        "stoppable": compose.is_stoppable(broadcast),
        "author": db.session.get(User, broadcast.created_by_id or 0),
    }


@bp.route("/broadcast/<int:broadcast_id>")
@requires(Role.READ_ONLY)
def broadcast(broadcast_id: int):
    """One send: what, to whom, when, and its progress."""
    item = _broadcast_or_404(broadcast_id)
    return render_template("compose/broadcast.html", **_broadcast_context(item))


@bp.route("/broadcast/<int:broadcast_id>/progress")
@requires(Role.READ_ONLY)
def progress(broadcast_id: int):
    """The progress box; it polls itself until every message is final or receipts stop coming."""
    item = _broadcast_or_404(broadcast_id)
    return render("compose/broadcast.html", "compose/_progress.html", polled=is_htmx(),
                  **_broadcast_context(item))


# ---- scheduled sends: list, cancel, edit ------------------------------------------------


@bp.route("/scheduled")
@requires(Role.READ_ONLY)
def scheduled():
    """Sends waiting for their time, soonest first."""
    items = compose.scheduled_broadcasts()
    who = compose.describe_many([b.recipients for b in items])
    return render_template("compose/scheduled.html", items=items, who=who)



@bp.route("/broadcast/<int:broadcast_id>/cancel", methods=["POST"])
@requires(Role.EDIT)
def cancel(broadcast_id: int):
    """Cancel a send that has not gone yet."""
    _broadcast_or_404(broadcast_id)
    try:
        compose.cancel_scheduled(broadcast_id, current_user)
        flash("The send is cancelled; nothing more of it will go out.", "success")
    except compose.ComposeError as exc:
        flash(str(exc), "error")
    return see_other(url_for("compose.broadcast", broadcast_id=broadcast_id))


@bp.route("/broadcast/<int:broadcast_id>/edit", methods=["GET", "POST"])
@requires(Role.EDIT)
def edit(broadcast_id: int):
    """Change the text or time of a scheduled send."""
    item = _broadcast_or_404(broadcast_id)
    if not compose.is_changeable(item):
        flash("This send has already gone and can no longer be edited.", "error")
        return redirect(url_for("compose.broadcast", broadcast_id=broadcast_id), code=303)
    form = EditForm() if request.method == "POST" else _edit_form(item)
    if request.method == "POST" and form.validate():
        try:
            compose.edit_scheduled(broadcast_id, actor=current_user, subject=form.subject.data,
                                   body=form.body.data, send_at=form.send_at(),
                                   outside_window=bool(form.outside_window.data))
        except compose.ComposeError as exc:
            form.form_errors.append(str(exc))
        else:
            flash("The scheduled send is updated.", "success")
            return redirect(url_for("compose.broadcast", broadcast_id=broadcast_id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("compose/edit.html", form=form, broadcast=item,
                           fields=FIELD_LABELS), status


def _edit_form(item: Broadcast) -> EditForm:
    local = compose.to_local(item.send_at)
    return EditForm(formdata=None, subject=item.subject, body=item.body, when="later",
                    send_date=local.date(), send_time=local.time().replace(second=0),
                    outside_window=bool((item.options or {}).get("outside_window")))


# ---- the client picker --------------------------------------------------------------------


@bp.route("/clients")
@requires(Role.EDIT)
def client_search():
    """Up to 10 clients matching the search box, as radio buttons."""
    text = (request.args.get("client_query") or "").strip()
    clients = compose.find_clients(text) if text else []
    return render_template("compose/_client_options.html", clients=clients, query=text,
                           picked_id=None)


@bp.context_processor
def helpers() -> dict:
    """Formatting helpers for the compose templates."""
    return {
        "pretty_phone": pretty,
        "local_label": compose.local_label,
        "channel_labels": compose.CHANNEL_LABELS,
        "sending_window": window.current,
        "their_time": their_time,
    }


def their_time(row) -> str:
    """'8:00 AM' at the recipient, for a planned text or call ('' when its zone is unknown)."""
    zone = window.zone_named(row.zone)
    return format_time(row.send_at, zone) if zone else ""
