"""Outbox, Inbox, the polled status column and the message detail page."""

from datetime import date
from functools import lru_cache

from flask import abort, current_app, render_template, request, url_for

from blueprints.access import requires
from blueprints.mailbox import bp
from blueprints.mailbox.forms import MessageFilterForm, OutboxFilterForm
from blueprints.rendering import is_htmx, polled_ids, render
from core.auth.models import Role
from core.messaging import folders as sidebar
from core.messaging import queries
from core.phones import pretty

PAGE_SIZE = 50
FOLDERS_SHOWN = 10
CURSORS = ("before", "after")


@bp.route("/outbox")
@requires(Role.READ_ONLY)
def outbox():
    """Outbound messages, searchable, newest first, beside folders: appointments (by day),
    mass notices and the rest."""
    form = OutboxFilterForm(formdata=request.args)
    listing = _list_page(form, queries.outbox_page)
    context = {"form": form, "listing": listing, "poll_ids": _watched_ids(listing)}
    if not is_htmx():
        context.update(_sidebar(), folder=_folder_heading(form))
    status = 422 if listing is None else 200
    return render("mailbox/outbox.html", "mailbox/_rows.html", **context), status


@bp.route("/inbox")
@requires(Role.READ_ONLY)
def inbox():
    """Received messages, newest first, each beside the outbound message it answers."""
    form = MessageFilterForm(formdata=request.args)
    listing = _list_page(form, queries.inbox_page)
    status = 422 if listing is None else 200
    html = render("mailbox/inbox.html", "mailbox/_inbox_rows.html", form=form, listing=listing)
    return html, status


@bp.route("/statuses")
@requires(Role.READ_ONLY)
def statuses():
    """The status badges of the given messages, swapped in place while any may still change."""
    ids = polled_ids()
    messages = queries.statuses(ids)
    poll_ids = [m.id for m in messages if queries.watched(m)]
    return render_template("mailbox/_statuses.html", messages=messages, poll_ids=poll_ids)


@bp.route("/<int:message_id>")
@requires(Role.READ_ONLY)
def detail(message_id: int):
    """One message: its text, parties, attachments, status history and reply."""
    found = queries.message_detail(message_id)
    if found is None:
        abort(404)
    return render_template("mailbox/detail.html", d=found)


def _list_page(form, fetch):
    """Run the list query for a valid filter form; None when the form has errors."""
    if not form.validate():
        return None
    filters = form.filters(current_app.config["BUSINESS_TIMEZONE"])
    return fetch(filters, before_id=_cursor("before"), after_id=_cursor("after"), limit=PAGE_SIZE)


def _cursor(name: str) -> int | None:
    value = request.args.get(name, type=int)
    return value if value and value > 0 else None


def _watched_ids(listing) -> list[int]:
    if listing is None:
        return []
    return [r.message.id for r in listing.rows if queries.watched(r.message)]


def _sidebar() -> dict:
    """The Outbox folders: group counts, a page of appointments (of one day when `fday` is
    given) and a page of mass notices, each with a cursor for more."""
    day = _day("fday")
    since, until = queries.local_day_bounds(day, day, current_app.config["BUSINESS_TIMEZONE"])
    return {
        "groups": sidebar.group_counts(),
        "folders": queries.appointment_folders(_cursor("fbefore"), FOLDERS_SHOWN, since, until),
        "notices": sidebar.notice_folders(_cursor("nbefore"), FOLDERS_SHOWN),
        "folder_day": day,
        "capped": sidebar.capped,
    }


def _day(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _folder_heading(form):
    """The appointment or mass notice of the chosen folder; 404 when it names neither."""
    folder = form.folder.data
    if not folder or form.folder.errors or folder in ("all", "other", "appointments"):
        return None
    found = (sidebar.notice(int(folder[1:])) if folder.startswith("b")
             else queries.folder_appointment(int(folder)))
    if found is None:
        abort(404)
    return found


@bp.context_processor
def _helpers():
    # Times use the app-wide filter `local_time`; numbers go through `phone`, the app-wide
    # formatting remembered per number, since parsing one cost a list page ~5 ms of its 50 rows.
    return {"url_with": url_with, "phone": phone}


@lru_cache(maxsize=4096)
def phone(address: str | None) -> str:
    """A number in its international format, as `pretty_phone` shows it (an email as is)."""
    return pretty(address)


def url_with(**changes) -> str:
    """This list's URL with its filters kept, row cursors dropped and `changes` applied."""
    args = {k: v for k, v in request.args.items() if k not in CURSORS}
    args.update(changes)
    return url_for(request.endpoint, **{k: v for k, v in args.items() if v not in (None, "")})

