"""Usage routes: the `currency()` every price is shown with, the usage page, quotas, and the
CSV exports."""

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
from core.usage import chart, export, figures, quotas

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
    first, last, tz, error = _range()
    status = 422 if error else 200
    return render_template("usage/index.html", f=figures.figures(first, last, tz),
                           error=error, chart_bars=chart.bars, chart_peak=chart.peak), status


@bp.route("/export/usage.csv")
@requires(Role.ADMIN)
def export_usage():
    """The usage figures of the chosen range per day, direction, channel and category, as a
    streamed CSV file."""
    first, last, tz, error = _range()
    if error:
        abort(422, error)
    lines = export.csv_lines(export.usage_rows(first, last, tz, currency()))
    name = f"tidings-usage-{first:%Y%m%d}-{last:%Y%m%d}.csv"
    return current_app.response_class(
        stream_with_context(lines), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _range() -> tuple[date, date, str, str | None]:
    """The from/to of the query string (this month by default), the business zone, and what
    is wrong with them (the range falls back to this month then)."""
    tz = settings.business_timezone() or "UTC"
    today = utcnow().astimezone(ZoneInfo(tz)).date()
    month = (today.replace(day=1), today, tz)
    try:
        first = date.fromisoformat(request.args.get("from") or month[0].isoformat())
        last = date.fromisoformat(request.args.get("to") or month[1].isoformat())
    except ValueError:
        return *month, "Dates look like 2026-12-01."
    if last < first or (last - first).days > MAX_DAYS:
        return *month, f"Choose up to {MAX_DAYS} days, the first before the last."
    return first, last, tz, None
