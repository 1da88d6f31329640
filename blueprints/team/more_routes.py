"""Team: presence heartbeat, do-not-disturb, sharing a client conversation, Admin settings."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.access import requires
from blueprints.rendering import see_other
from blueprints.team import bp
from blueprints.team.forms import SettingsForm, ShareForm
from core import settings
from core.auth.models import Role
from core.clients.models import Client
from core.extensions import db
from core.team import operations, presence, queries
from core.team.models import Chat
from core.team.operations import ChatError


@bp.route("/presence", methods=["POST"])
@requires(Role.READ_ONLY)
def heartbeat():
    """The open Team page says it is alive and how long its user has been idle."""
    presence.heartbeat(current_user.id, idle=request.form.get("idle", 0, type=float))
    return "", 204


@bp.route("/dnd", methods=["POST"])
@requires(Role.READ_ONLY)
def dnd():
    """Turn do-not-disturb on or off (no desktop notifications or sounds while on)."""
    presence.set_dnd(current_user.id, request.form.get("on") == "1")
    back = request.form.get("next", "")
    return see_other(back if back.startswith("/team/") else url_for(".index"))


def share_form() -> ShareForm:
    """The "Discuss with team" form with the user's chats as choices."""
    form = ShareForm()
    form.chat_id.choices = [(r.chat.id, r.title) for r in queries.chat_list(current_user)]
    return form


@bp.route("/share/<int:client_id>", methods=["POST"])
@requires(Role.READ_ONLY)
def share(client_id):
    """Share a client conversation into one of the user's chats as a live card."""
    client = db.session.get(Client, client_id)
    if client is None:
        abort(404)
    form = share_form()
    if not form.validate_on_submit():
        abort(400)
    chat = _member_chat(form.chat_id.data)
    try:
        operations.post(chat, current_user, form.body.data or "", client_id=client.id)
    except ChatError as exc:
        flash(str(exc), "error")
    return see_other(url_for(".chat", chat_id=chat.id))


def _member_chat(chat_id) -> Chat:
    if operations.membership(chat_id, current_user.id) is None:
        abort(404)
    return db.session.get(Chat, chat_id)


@bp.route("/settings", methods=["GET", "POST"])
@requires(Role.ADMIN)
def settings_page():
    """How long staff chat is kept, and which group hears of new unassigned client replies."""
    form = SettingsForm(data={"retention_days": settings.get("team_retention_days"),
                              "announce_chat_id": settings.get("team_announce_chat_id")}
                        if request.method == "GET" else None)
    groups = [(0, "Nobody")] + [(c.id, c.name) for c in queries.all_groups()]
    form.announce_chat_id.choices = groups
    if form.validate_on_submit():
        settings.save({"team_retention_days": form.retention_days.data,
                       "team_announce_chat_id": form.announce_chat_id.data},
                      actor=current_user, section="Staff chat")
        db.session.commit()
        flash("Staff chat settings saved.", "success")
        return redirect(url_for(".settings_page"), code=303)
    return render_template("team/settings.html", form=form)
