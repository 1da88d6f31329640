"""Conversations pages: the thread list, one thread, replies, staff actions, the nav badge."""

import hashlib

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from blueprints.access import requires
from blueprints.conversations import bp
from blueprints.conversations.forms import (
    ActionForm,
    AssignForm,
    FilterForm,
    ReplyForm,
    SettingsForm,
)
from blueprints.rendering import is_htmx, render
from core import settings
from core.auth.models import Role
from core.clients.models import Client
from core.conversations import operations, queries, unread
from core.conversations.models import Conversation
from core.extensions import db
from core.messaging import attachments as files
from core.messaging.compose import ComposeError
from core.messaging.queries import local_day_bounds


@bp.app_context_processor
def _unread_badge():
    """Templates call conversation_unread() only where the badge is drawn (one query), and
    text_answers(ids) where a received text may have confirmed or declined an appointment."""
    return {"conversation_unread": queries.unread_total, "unread_version": unread.version,
            "text_answers": queries.answers_to}


@bp.route("/")
@requires(Role.READ_ONLY)
def index():
    """Every conversation, newest activity first, with filters; htmx polls the list.

    The poll carries the version of what it shows and gets 204 while nothing changed.
    """
    version = f"{unread.version()}.{queries.latest_id()}"
    if is_htmx() and request.args.get("v") == version:
        return "", 204
    form = FilterForm(request.args)
    form.validate()  # a bad date shows its error and is ignored
    since, until = local_day_bounds(form.date_from.data, form.date_to.data,
                                    settings.business_timezone())
    filters = queries.Filters(
        q=(form.q.data or "").strip()[:100], response=form.response.data or "",
        state=form.state.data or "open", mine_id=current_user.id if form.mine.data else None,
        since=since, until=until)
    rows = queries.threads(filters)
    args = {k: v for k, v in request.args.items() if k != "v"}
    return render("conversations/index.html", "conversations/_list.html", form=form, rows=rows,
                  args={**args, "v": version})


@bp.route("/badge")
@requires(Role.READ_ONLY)
def badge():
    """The nav link with its unread count (polled every 5 s on every page).

    The poll sends the version it shows; while it is current the answer is 204 and costs one
    Redis read, no database query.
    """
    if not is_htmx():
        return redirect(url_for(".index"))
    if request.args.get("v") == unread.version():
        return "", 204
    return render_template("conversations/_badge.html",
                           conv_current=request.args.get("current") == "1")


@bp.route("/<int:client_id>")
@requires(Role.READ_ONLY)
def thread(client_id):
    """One client's thread; opening it marks the client's texts read."""
    client = _client_or_404(client_id)
    operations.mark_read(client_id)
    return render("conversations/thread.html", "conversations/_thread.html",
                  **_thread_context(client))


@bp.route("/<int:client_id>/messages")
@requires(Role.READ_ONLY)
def messages(client_id):
    """The polled messages of a thread; 204 while nothing changed since `version`."""
    client = _client_or_404(client_id)
    shown = queries.thread_messages(client)
    version = _version(shown)
    if is_htmx() and request.args.get("version") == version:
        return "", 204
    if request.args.get("card") != "1":
        if operations.mark_read(client_id):
            shown = queries.thread_messages(client)
            version = _version(shown)
    return render_template("conversations/_messages.html", client=client, messages=shown,
                           version=version, card=request.args.get("card") == "1")


@bp.route("/<int:client_id>/reply", methods=["POST"])
@requires(Role.EDIT)
def reply(client_id):
    """Send a staff reply (SMS, or MMS with a picture) through the delivery pipeline."""
    client = _client_or_404(client_id)
    form = ReplyForm()
    if form.validate_on_submit():
        image = form.image.data
        images = [files.Upload(image.filename, image.read())] if image and image.filename else []
        try:
            operations.reply(client_id, form.body.data.strip(), actor=current_user,
                             images=images)
        except (operations.ConversationError, ComposeError) as exc:
            form.body.errors = [*form.body.errors, str(exc)]
        else:
            if is_htmx():  # until the fan-out writes its row, show the reply as "sending"
                return render_template("conversations/_thread.html",
                                       **_thread_context(client), sending=form.body.data.strip())
            return _after_change(client, "Reply queued.")
    return render("conversations/thread.html", "conversations/_thread.html",
                  **_thread_context(client, reply_form=form)), 422


@bp.route("/<int:client_id>/read", methods=["POST"])
@requires(Role.EDIT)
def read(client_id):
    """Mark the thread read, or (unread=1) its latest text unread again."""
    client = _client_or_404(client_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if request.form.get("unread") != "1":
        operations.mark_read(client_id)
        return _after_change(client, None)
    # Back to the list: staying on the thread would mark it read again at the next poll.
    operations.mark_unread(client_id)
    if not is_htmx():
        return redirect(url_for(".index"), code=303)
    return "", 204, {"HX-Redirect": url_for(".index")}


@bp.route("/<int:client_id>/assign", methods=["POST"])
@requires(Role.EDIT)
def assign(client_id):
    """Give the conversation to a staff member (or to nobody)."""
    client = _client_or_404(client_id)
    form = _assign_form()
    if not form.validate_on_submit():
        return render("conversations/thread.html", "conversations/_thread.html",
                      **_thread_context(client, assign_form=form)), 422
    operations.assign(client_id, form.user_id.data or None, actor=current_user)
    return _after_change(client, "Conversation assigned.")


@bp.route("/<int:client_id>/close", methods=["POST"])
@requires(Role.EDIT)
def close(client_id):
    """Close the conversation, or reopen it (closed=0)."""
    client = _client_or_404(client_id)
    if ActionForm().validate_on_submit():
        closed = request.form.get("closed", "1") != "0"
        operations.set_closed(client_id, closed, actor=current_user)
        return _after_change(client, "Conversation closed." if closed else "Reopened.")
    abort(400)


@bp.route("/settings", methods=["GET", "POST"])
@requires(Role.ADMIN)
def settings_page():
    """The two-way texting switches (auto-responses, reply-after-client rule)."""
    form = SettingsForm()
    if form.validate_on_submit():
        settings.save({key: bool(getattr(form, key).data) for key in form.KEYS},
                      actor=current_user, section="Two-way texting")
        db.session.commit()
        flash("Two-way texting settings saved.", "success")
        return redirect(url_for(".settings_page"), code=303)
    if request.method == "GET":
        for key, value in settings.snapshot(form.KEYS).items():
            getattr(form, key).data = bool(value)
    return render_template("conversations/settings.html", form=form)


# ---- helpers -----------------------------------------------------------------------------------


def _client_or_404(client_id: int) -> Client:
    client = db.session.get(Client, client_id)
    if client is None:
        abort(404)
    return client


def _assign_form(**kwargs) -> AssignForm:
    form = AssignForm(**kwargs)
    form.user_id.choices = [SelectChoice(0, "Nobody")] + [
        SelectChoice(u.id, u.name) for u in queries.staff()]
    return form


def _thread_context(client: Client, reply_form=None, assign_form=None) -> dict:
    conversation = db.session.get(Conversation, client.id)
    shown = queries.thread_messages(client)
    assigned = conversation.assigned_to_id if conversation else None
    return {
        "client": client, "conversation": conversation, "messages": shown,
        "version": _version(shown), "action_form": ActionForm(),
        "reply_form": reply_form or ReplyForm(formdata=None),
        "assign_form": assign_form or _assign_form(formdata=None, user_id=assigned or 0),
        "reply_after_client": settings.get("twoway_reply_after_client"),
        "has_written": operations.client_has_written(client.id),
    }


def _version(shown) -> str:
    """A short fingerprint of what the thread shows (ids and statuses)."""
    text = ";".join(f"{m.id}:{m.status}:{m.read_at is None}" for m in shown)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _after_change(client: Client, message: str | None):
    """303 to the thread (plain), or the re-rendered thread (htmx)."""
    if not is_htmx():
        if message:
            flash(message, "success")
        return redirect(url_for(".thread", client_id=client.id), code=303)
    return render_template("conversations/_thread.html", **_thread_context(client))
