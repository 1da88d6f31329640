"""Team pages: the chat list, one chat, posting, members, presence, the badge, settings."""

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from blueprints.access import requires
from blueprints.rendering import is_htmx, render, see_other
from blueprints.team import bp
from blueprints.team.forms import GroupForm, MessageForm, PersonForm
from core import settings
from core.auth.models import Role, User
from core.clients.models import Client
from core.extensions import db
from core.team import cards, live, operations, presence, queries, text
from core.team.models import Chat, ChatMessage
from core.team.operations import ChatError
from core.types import utcnow


@bp.app_context_processor
def _team_badge():
    """Templates call team_unread() only where the nav badge is drawn."""
    counts = []  # the badge's (unread, alerts), read once per request by one query

    def badge(index: int) -> int:
        if not counts:
            counts.extend(queries.badge_counts(current_user.id))
        return counts[index]

    return {"team_unread": lambda: badge(0),
            "team_version": lambda: live.version(live.user_key(current_user.id)),
            "client_last": cards.client_last,
            "team_chats": lambda: queries.chat_list(current_user),
            "team_alerts": lambda: badge(1)}


@bp.app_template_filter("team_text")
def _team_text(body, names=()):
    """Message text escaped, with clickable http(s) links and highlighted @names."""
    return text.render(body or "", names)


@bp.app_template_filter("team_ago")
def _team_ago(epoch):
    """'3 min ago', '2 h ago' or a local date, for "last seen"."""
    seconds = max(0, time.time() - float(epoch))
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    zone = ZoneInfo(settings.business_timezone())
    return datetime.fromtimestamp(float(epoch), UTC).astimezone(zone).strftime("%-d %b %H:%M")


def _chat_or_404(chat_id: int):
    """The chat and the current user's member row; 404 for everyone else (nothing leaks)."""
    member = operations.membership(chat_id, current_user.id)
    if member is None:
        abort(404)
    return db.session.get(Chat, chat_id), member


@bp.route("/")
@requires(Role.READ_ONLY)
def index():
    """Every chat of the user, newest activity first; the list polls with its version."""
    version = live.version(live.user_key(current_user.id))
    if is_htmx() and request.args.get("v") == version:
        return "", 204
    current = request.args.get("current", type=int)
    if current and operations.membership(current, current_user.id) is not None:
        current = db.session.get(Chat, current)
    else:
        current = None
    # A poll (it carries the version) redraws the rows only: the new-chat forms are kept as
    # they are in the page (hx-preserve), so fifty lists redrawn after a message do not each
    # load every staff member and render two pickers, and a half-filled form survives a poll.
    polled = is_htmx() and "v" in request.args
    return render("team/index.html", "team/_list.html",
                  **_list_context(version, current, forms=not polled))


def _list_context(version: str, current=None, forms: bool = True) -> dict:
    rows = queries.chat_list(current_user)
    others = [r.other.id for r in rows if r.other]
    context = {"rows": rows, "list_version": version, "current": current,
               "presence": presence.of(others), "forms": forms}
    if forms:
        people = queries.staff(exclude_id=current_user.id)
        person_form, group_form = PersonForm(), GroupForm()
        person_form.user_id.choices = group_form.members.choices = [
            (u.id, u.name) for u in people]
        context.update(person_form=person_form, group_form=group_form)
    return context


@bp.route("/badge")
@requires(Role.READ_ONLY)
def badge():
    """The nav link with the total unread (polled; 204 while the user's version is current)."""
    if not is_htmx():
        return redirect(url_for(".index"))
    if request.args.get("v") == live.version(live.user_key(current_user.id)):
        return "", 204
    return render_template("team/_badge.html", team_current=request.args.get("current") == "1")


@bp.route("/direct", methods=["POST"])
@requires(Role.READ_ONLY)
def direct():
    """Open (or create) the direct chat with one staff member."""
    form = PersonForm()
    form.user_id.choices = [(u.id, u.name) for u in queries.staff(exclude_id=current_user.id)]
    if not form.validate_on_submit():
        abort(400)
    chat = operations.open_direct(current_user, db.session.get(User, form.user_id.data))
    db.session.commit()
    return see_other(url_for(".chat", chat_id=chat.id))


@bp.route("/groups", methods=["POST"])
@requires(Role.EDIT)
def create_group():
    """Create a group with its first members."""
    form = GroupForm()
    people = queries.staff(exclude_id=current_user.id)
    form.members.choices = [(u.id, u.name) for u in people]
    if not form.validate_on_submit():
        flash(" ".join(e for errors in form.errors.values() for e in errors), "error")
        return see_other(url_for(".index"))
    chosen = [u for u in people if u.id in (form.members.data or [])]
    chat = operations.create_group(current_user, form.name.data, chosen)
    db.session.commit()
    return see_other(url_for(".chat", chat_id=chat.id))


@bp.route("/<int:chat_id>")
@requires(Role.READ_ONLY)
def chat(chat_id):
    """One chat: the last 7 days, the composer, the members (reading marks it read)."""
    chat, member = _chat_or_404(chat_id)
    context = _messages_context(chat, member)
    version = live.version(live.user_key(current_user.id))
    states = presence.of([person.id for person in context["people"]])
    return render("team/chat.html", "team/_chat.html", **context, **_list_context(version, chat),
                  form=MessageForm(), member_presence=states,
                  my_presence=states.get(current_user.id),
                  manage=operations.can_manage(chat, current_user))


@bp.route("/<int:chat_id>/messages")
@requires(Role.READ_ONLY)
def messages(chat_id):
    """The message pane (polled with the chat's version: 204 while nothing changed), or
    with `before`, the older page for Load earlier."""
    chat, member = _chat_or_404(chat_id)
    if request.args.get("before", type=int):
        items = queries.messages(chat.id, before_id=request.args.get("before", type=int))
        return render_template("team/_earlier.html", **_decorate(chat, items))
    if request.args.get("v") == live.version(live.chat_key(chat.id)):
        return "", 204
    return render_template("team/_messages.html", **_messages_context(
        chat, member, from_id=request.args.get("from", type=int)))


@bp.route("/<int:chat_id>/seen")
@requires(Role.READ_ONLY)
def seen(chat_id):
    """The read receipts of one's own messages (polled; 204 while nobody read further)."""
    chat, _ = _chat_or_404(chat_id)
    version = live.version(live.seen_key(chat.id))
    if request.args.get("v") == version:
        return "", 204
    items = queries.messages(chat.id, from_id=request.args.get("from", type=int))
    # Receipts are drawn on one's own messages only: a reader who wrote none in the window
    # gets the poller back with its new version, without loading the members.
    own = [m for m in items if m.author_id == current_user.id and not m.deleted_at]
    context = _decorate(chat, own) if own else {"chat": chat, "items": []}
    return render_template("team/_seen.html", **context, seen_version=version,
                           receipts_oob=True, first_id=items[0].id if items else None)


def _messages_context(chat, member, from_id=None) -> dict:
    items = queries.messages(chat.id, from_id=from_id)
    if items and request.args.get("seen") != "0":
        operations.mark_read(member, items[-1].id)
    context = _decorate(chat, items)
    first = items[0].id if items else None
    context.update(chat_version=live.version(live.chat_key(chat.id)), first_id=first,
                   seen_version=live.version(live.seen_key(chat.id)),
                   earlier=queries.has_earlier(chat.id, first), member=member)
    return context


def _decorate(chat, items) -> dict:
    """What the message templates need: authors, read markers, mentions, zone, names."""
    people = queries.member_rows(chat.id)
    markers = {person.id: person.read_up_to for person in people}
    names = {person.id: person.name for person in people}
    # Authors are nearly always members: only former members cost a query.
    authors = {person.id: person for person in people}
    former = {i.author_id for i in items if i.author_id and i.author_id not in authors}
    if former:
        authors.update((u.id, u) for u in db.session.scalars(
            select(User).where(User.id.in_(former))))
    client_ids = {i.client_id for i in items if i.client_id}
    clients = {c.id: c for c in db.session.scalars(
        select(Client).where(Client.id.in_(client_ids)))} if client_ids else {}
    zone = ZoneInfo(settings.business_timezone())
    return {"chat": chat, "items": items, "markers": markers, "authors": authors,
            "clients": clients, "zone": zone, "today": datetime.now(UTC).astimezone(zone).date(),
            "mention_names": [n for n in names.values()] + [n.split()[0] for n in names.values()],
            "mine": queries.mention_ids(current_user.id, [i.id for i in items]),
            "seen_by": queries.seen_by, "now": utcnow(), "window": operations.EDIT_WINDOW,
            "people": people}


@bp.route("/<int:chat_id>/send", methods=["POST"])
@requires(Role.READ_ONLY)
def send(chat_id):
    """Post a message; the pane re-renders with it (errors shown above the composer)."""
    chat, member = _chat_or_404(chat_id)
    form = MessageForm()
    error = None
    if form.validate_on_submit():
        try:
            operations.post(chat, current_user, form.body.data)
        except ChatError as exc:
            error = str(exc)
    else:
        error = " ".join(e for errors in form.errors.values() for e in errors)
    if not is_htmx():
        if error:
            flash(error, "error")
        return redirect(url_for(".chat", chat_id=chat.id), code=303)
    response = render_template("team/_composer.html", chat=chat, form=MessageForm(
        formdata=None, body=form.body.data if error else ""), error=error)
    return response, (429 if error and error.startswith("Slow down") else 200)


@bp.route("/<int:chat_id>/m/<int:message_id>/edit", methods=["POST"])
@requires(Role.READ_ONLY)
def edit(chat_id, message_id):
    """Change one's own message (within 5 minutes)."""
    chat, _ = _chat_or_404(chat_id)
    message = _message_or_404(chat, message_id)
    form = MessageForm()
    try:
        if not form.validate_on_submit():
            raise ChatError(" ".join(e for errors in form.errors.values() for e in errors))
        operations.edit(message, current_user, form.body.data)
    except ChatError as exc:
        flash(str(exc), "error")
    return see_other(url_for(".chat", chat_id=chat.id))


@bp.route("/<int:chat_id>/m/<int:message_id>/delete", methods=["POST"])
@requires(Role.READ_ONLY)
def delete(chat_id, message_id):
    """Delete one's own message (within 5 minutes); it shows as deleted."""
    chat, _ = _chat_or_404(chat_id)
    message = _message_or_404(chat, message_id)
    try:
        operations.delete_message(message, current_user)
    except ChatError as exc:
        flash(str(exc), "error")
    return see_other(url_for(".chat", chat_id=chat.id))


def _message_or_404(chat, message_id) -> ChatMessage:
    message = db.session.get(ChatMessage, message_id)
    if message is None or message.chat_id != chat.id:
        abort(404)
    return message


@bp.route("/<int:chat_id>/members", methods=["POST"])
@requires(Role.READ_ONLY)
def add_member(chat_id):
    """Add a staff member to a group (its creator and Admins)."""
    chat, _ = _chat_or_404(chat_id)
    form = PersonForm()
    form.user_id.choices = [(u.id, u.name) for u in queries.staff()]
    if not form.validate_on_submit():
        abort(400)
    try:
        operations.add_member(chat, current_user, db.session.get(User, form.user_id.data))
        db.session.commit()
    except ChatError as exc:
        abort(403, str(exc))
    return see_other(url_for(".chat", chat_id=chat.id))


@bp.route("/<int:chat_id>/members/<int:user_id>/remove", methods=["POST"])
@requires(Role.READ_ONLY)
def remove_member(chat_id, user_id):
    """Remove someone from a group (its creator and Admins); their access ends at once."""
    chat, _ = _chat_or_404(chat_id)
    try:
        operations.remove_member(chat, current_user, user_id)
        db.session.commit()
    except ChatError as exc:
        abort(403, str(exc))
    return see_other(url_for(".chat", chat_id=chat.id))
from blueprints.team import more_routes  # noqa: E402,F401  (the rest of the pages)
