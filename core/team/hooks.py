"""Staff chat's connections to the core: announce new unassigned client replies in a group."""

from sqlalchemy import event

from core import settings
from core.conversations import signals
from core.conversations.models import Conversation
from core.extensions import db
from core.team import live, operations
from core.team.models import GROUP, Chat, ChatMessage
from core.types import utcnow


def connect(app=None) -> None:
    """Called once at app creation."""
    signals.client_replied.connect(on_inbound, weak=False)


def on_inbound(message, **_) -> None:
    """Post a live card of the client's thread in the chosen group when nobody is assigned."""
    chat_id = settings.get("team_announce_chat_id")
    if not chat_id or message.client_id is None:
        return
    chat = db.session.get(Chat, chat_id)
    conversation = db.session.get(Conversation, message.client_id)
    if chat is None or chat.kind != GROUP or (conversation and conversation.assigned_to_id):
        return
    now = utcnow()
    db.session.add(ChatMessage(chat_id=chat.id, author_id=None, body="New client reply",
                               client_id=message.client_id, created_at=now))
    chat.last_message_at = now
    members = operations.member_ids(chat.id)
    # Tell the pollers only once the caller's transaction is committed.
    event.listen(db.session, "after_commit", lambda _s: live.bump(chat.id, members), once=True)
