"""Usage routes: the `currency()` every price is shown with, and the CSV exports."""

from datetime import date
from zoneinfo import ZoneInfo

from flask import (
    abort,
    current_app,
    g,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from blueprints.access import requires
from blueprints.mailbox.forms import MessageFilterForm, OutboxFilterForm
from blueprints.usage import bp
from blueprints.usage.forms import QuotaForm
from core import settings
from core.auth.models import Role
from core.extensions import db
from core.messaging.models import Direction
from core.types import utcnow
from core.usage import export, figures, quotas

MAX_DAYS = 366


@bp.app_template_global("currency")
def currency() -> str:
    """The currency code of every shown price (read once per request)."""
    if "currency" not in g:
        g.currency = settings.currency()
    return g.currency


@bp.app_template_global("export_url")
def export_url(box: str) -> str:
    """The CSV export of this Outbox or Inbox list, with its filters and without its cursors."""
    args = {k: v for k, v in request.args.items() if k not in ("before", "after") and v}
    return url_for(f"usage.export_{box}", **args)


@bp.route("/export/outbox.csv")
@requires(Role.READ_ONLY)
def export_outbox():
    """The Outbox as filtered, as a streamed CSV file (every matching row)."""
    return _export("outbox", OutboxFilterForm(formdata=request.args), Direction.OUT)


@bp.route("/export/inbox.csv")
@requires(Role.READ_ONLY)
def export_inbox():
    """The Inbox as filtered, as a streamed CSV file (every matching row)."""
    return _export("inbox", MessageFilterForm(formdata=request.args), Direction.IN)


def _export(box: str, form, direction: str):
    if not form.validate():
        abort(422)
    filters = form.filters(current_app.config["BUSINESS_TIMEZONE"])
    lines = export.csv_lines(export.message_rows(direction, filters, currency()))
    name = f"tidings-{box}-{utcnow():%Y%m%d-%H%M}.csv"
    return current_app.response_class(
        stream_with_context(lines), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.route("/quotas", methods=["GET", "POST"])
@requires(Role.ADMIN)
def quotas_page():
    """This month's use per category and the monthly quotas (Admins)."""
    current = settings.snapshot(list(QuotaForm().values()))
    form = QuotaForm(data=current) if request.method == "GET" else QuotaForm()
    saved, status = False, 200
    if request.method == "POST":
        if form.validate():
            changes = {k: v for k, v in form.values().items() if v != (current.get(k) or "")}
            settings.save(changes, actor=current_user, section="Quotas")
            db.session.commit()
            saved = True
        else:
            status = 422
    return render_template("usage/quotas.html", form=form, saved=saved,
                           months=quotas.all_left()), status


@bp.route("")
@requires(Role.ADMIN)
def index():
    """Usage for this month or a chosen range: totals, rates, a chart per day, by group."""
    tz = settings.business_timezone() or "UTC"
    today = utcnow().astimezone(ZoneInfo(tz)).date()
    first, last, error = today.replace(day=1), today, None
    try:
        if request.args.get("from"):
            first = date.fromisoformat(request.args["from"])
        if request.args.get("to"):
            last = date.fromisoformat(request.args["to"])
    except ValueError:
        first, last, error = today.replace(day=1), today, "Dates look like 2026-12-01."
    if last < first or (last - first).days > MAX_DAYS:
        first, last, error = today.replace(day=1), today, f"Choose up to {MAX_DAYS} days, " \
            "the first before the last."
    status = 422 if error else 200
    return render_template("usage/index.html", f=figures.figures(first, last, tz),
                           error=error), status
