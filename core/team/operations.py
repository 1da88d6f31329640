"""Creating chats, managing members, posting, editing, deleting and reading messages.

Operations add to the session and leave the commit to the caller, except `post`, `edit`,
`delete` and `mark_read`, which commit and then bump the live version keys.
"""

import secrets
import time
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from core.audit.operations import record
from core.auth.models import Role, User
from core.extensions import db
from core.jobs import redis
from core.team import live, text
from core.team.models import DIRECT, GROUP, MEMBER, OWNER, Chat, ChatMessage, Member, Mention
from core.types import utcnow

MAX_LENGTH = 4000
EDIT_WINDOW = timedelta(minutes=5)
RATE_LIMIT, RATE_WINDOW = 30, 10  # messages per user per seconds


class ChatError(ValueError):
    """A refused chat action, with a message fit to show."""


def membership(chat_id: int, user_id: int) -> Member | None:
    """The member row of `user_id` in `chat_id`, or None (then the chat does not exist to them)."""
    return db.session.get(Member, (chat_id, user_id))


def member_ids(chat_id: int) -> list[int]:
    """Everyone in the chat."""
    return list(db.session.scalars(select(Member.user_id).where(Member.chat_id == chat_id)))


def can_manage(chat: Chat, user: User) -> bool:
    """Groups are managed by their creator and by Admins."""
    return chat.kind == GROUP and (chat.created_by_id == user.id or user.can(Role.ADMIN))


def open_direct(user: User, other: User) -> Chat:
    """The direct chat of the two people, created on first use."""
    if other.id == user.id or not other.active or not other.can(Role.READ_ONLY):
        raise ChatError("Choose another staff member.")
    low, high = sorted((user.id, other.id))
    key = f"{low}:{high}"
    chat = db.session.scalar(select(Chat).where(Chat.direct_key == key))
    if chat is None:
        chat = Chat(kind=DIRECT, name="", direct_key=key, created_by_id=user.id)
        db.session.add(chat)
        db.session.flush()
        db.session.add_all([Member(chat_id=chat.id, user_id=low, read_up_to=0),
                            Member(chat_id=chat.id, user_id=high, read_up_to=0)])
        db.session.flush()
    return chat


def create_group(creator: User, name: str, members) -> Chat:
    """A named group of `creator` (its owner) and `members`; Edit users and Admins only."""
    if not creator.can(Role.EDIT):
        raise ChatError("Only Edit users and Admins create groups.")
    name = (name or "").strip()
    if not name:
        raise ChatError("Give the group a name.")
    chat = Chat(kind=GROUP, name=name[:80], created_by_id=creator.id)
    db.session.add(chat)
    db.session.flush()
    db.session.add(Member(chat_id=chat.id, user_id=creator.id, role=OWNER, read_up_to=0))
    for user in members:
        if user.id != creator.id:
            db.session.add(Member(chat_id=chat.id, user_id=user.id, role=MEMBER, read_up_to=0))
    db.session.flush()
    return chat


def add_member(chat: Chat, actor: User, user: User) -> None:
    """Add `user` to a group (creator or Admin); they see its history, none of it unread."""
    _require_manager(chat, actor)
    if not user.can(Role.READ_ONLY):
        raise ChatError("That person has no access to Tidings.")
    if membership(chat.id, user.id) is None:  # what was said before they joined is not unread
        latest = db.session.scalar(select(func.max(ChatMessage.id))
                                   .where(ChatMessage.chat_id == chat.id)) or 0
        db.session.add(Member(chat_id=chat.id, user_id=user.id, role=MEMBER, read_up_to=latest))
        live.bump(chat.id, [user.id])


def remove_member(chat: Chat, actor: User, user_id: int) -> None:
    """Remove someone from a group; they lose access at the next request."""
    _require_manager(chat, actor)
    db.session.execute(delete(Member).where(Member.chat_id == chat.id, Member.user_id == user_id))
    live.bump(chat.id, [user_id])


def _require_manager(chat: Chat, actor: User) -> None:
    if not can_manage(chat, actor):
        raise ChatError("Only the group's creator and Admins manage its members.")


def post(chat: Chat, author: User, body: str, *, client_id=None, now=None) -> ChatMessage:
    """Store a message (mentions included), mark it read for its author, commit, notify."""
    body = (body or "").strip()
    if not body and client_id is None:
        raise ChatError("Write something first.")
    if len(body) > MAX_LENGTH:
        raise ChatError(f"A message holds at most {MAX_LENGTH:,} characters ({len(body):,}).")
    _rate_limit(author.id)
    now = now or utcnow()
    message = ChatMessage(chat_id=chat.id, author_id=author.id, body=body, client_id=client_id,
                          created_at=now)
    db.session.add(message)
    db.session.flush()
    members = db.session.scalars(
        select(User).join(Member, Member.user_id == User.id).where(Member.chat_id == chat.id)).all()
    for user in text.mentioned(body, [m for m in members if m.id != author.id]):
        db.session.add(Mention(message_id=message.id, user_id=user.id))
    chat.last_message_at = now
    db.session.execute(update(Member).where(Member.chat_id == chat.id,
                                            Member.user_id == author.id)
                       .values(read_up_to=message.id))
    db.session.commit()
    live.bump(chat.id, [m.id for m in members])
    return message


def _rate_limit(user_id: int) -> None:
    """A sliding 10-second log per user in Redis (a sorted set of send times)."""
    key, now = f"team:rate:{user_id}", time.time()
    entry = f"{now}:{secrets.token_hex(3)}"
    pipe = redis().pipeline()
    pipe.zremrangebyscore(key, 0, now - RATE_WINDOW)
    pipe.zcard(key)
    pipe.zadd(key, {entry: now})
    pipe.expire(key, RATE_WINDOW)
    _, count, _, _ = pipe.execute()
    if count >= RATE_LIMIT:
        redis().zrem(key, entry)  # a refused message does not count
        raise ChatError(f"Slow down: at most {RATE_LIMIT} messages in {RATE_WINDOW} seconds. "
                        "Wait a moment and send again.")


def _own_recent(message: ChatMessage, user: User, now: datetime) -> None:
    if message.author_id != user.id:
        raise ChatError("Only its author can change a message.")
    if message.deleted_at is not None:
        raise ChatError("That message was deleted.")
    if now - message.created_at > EDIT_WINDOW:
        raise ChatError("A message can be changed only within 5 minutes of sending it.")


def edit(message: ChatMessage, user: User, body: str, *, now=None) -> None:
    """Replace the text of one's own message within 5 minutes."""
    now = now or utcnow()
    _own_recent(message, user, now)
    body = (body or "").strip()
    if not body or len(body) > MAX_LENGTH:
        raise ChatError(f"A message holds 1 to {MAX_LENGTH:,} characters.")
    message.body, message.edited_at = body, now
    db.session.commit()
    live.bump(message.chat_id, member_ids(message.chat_id))


def delete_message(message: ChatMessage, user: User, *, now=None) -> None:
    """Blank one's own message within 5 minutes; it shows as deleted."""
    now = now or utcnow()
    _own_recent(message, user, now)
    message.body, message.deleted_at = "", now
    db.session.execute(delete(Mention).where(Mention.message_id == message.id))
    db.session.commit()
    live.bump(message.chat_id, member_ids(message.chat_id))


def mark_read(member: Member, up_to: int) -> bool:
    """Move the member's marker forward to `up_to`; True (and a bump) when it moved."""
    if up_to <= member.read_up_to:
        return False
    member.read_up_to = up_to
    # This commit writes only the marker held here: expiring everything the request loaded
    # would make the pane reload each of its messages one by one (an N+1 on every poll).
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire
    # Only the read receipts and the reader's own badge change: the message panes of the
    # others stay current (no re-render cascade), their receipts poll the seen key.
    live.bump_keys([live.seen_key(member.chat_id), live.user_key(member.user_id)])
    return True


def purge_older_than(days: int, *, now=None) -> int:
    """Delete chat messages older than `days` days and audit the purge; returns the count."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    ids = select(ChatMessage.id).where(ChatMessage.created_at < cutoff)
    db.session.execute(delete(Mention).where(Mention.message_id.in_(ids)))
    count = db.session.execute(delete(ChatMessage).where(ChatMessage.created_at < cutoff)).rowcount
    if count:
        record("team.purge", f"Staff chat: {count} messages older than {days} days purged",
               data={"count": count, "days": days, "before": cutoff.isoformat()})
    db.session.commit()
    return count
