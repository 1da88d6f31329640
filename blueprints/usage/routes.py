"""Usage routes: the `currency()` every price is shown with, and the CSV exports."""

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
from core.usage import export, quotas


@bp.app_template_global("currency")
def currency() -> str:
    """The currency code of every shown price (read once per request)."""
    if "currency" not in g:
        g.currency = settings.currency()
    return g.currency


@bp.app_template_global("export_url")
def export_url(folder: str) -> str:
    """The CSV export of this Outbox or Inbox list, with its filters and without its cursors."""
    args = {k: v for k, v in request.args.items() if k not in ("before", "after") and v}
    return url_for("usage.export_messages", folder=folder, **args)


@bp.route("/export/<any(outbox, inbox):folder>.csv")
@requires(Role.READ_ONLY)
def export_messages(folder: str):
    """The Outbox or Inbox as filtered, as a streamed CSV file (every matching row)."""
    form_class = OutboxFilterForm if folder == "outbox" else MessageFilterForm
    form = form_class(formdata=request.args)
    if not form.validate():
        abort(422)
    filters = form.filters(current_app.config["BUSINESS_TIMEZONE"])
    direction = Direction.OUT if folder == "outbox" else Direction.IN
    lines = export.csv_lines(export.message_rows(direction, filters, currency()))
    name = f"tidings-{folder}-{utcnow():%Y%m%d-%H%M}.csv"
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
