"""Reading chats: a person's list with unread counts, the messages of a window, read state."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select

from core.auth.models import Role, User
from core.extensions import db
from core.team.models import DIRECT, GROUP, Chat, ChatMessage, Member, Mention
from core.types import utcnow

WINDOW = timedelta(days=7)
EARLIER_PAGE = 50


@dataclass
class Row:
    """One line of the chat list."""

    chat: Chat
    title: str
    unread: int
    mentions: int
    other: User | None


def _unread_filter(user_id: int):
    return and_(ChatMessage.chat_id == Member.chat_id, ChatMessage.id > Member.read_up_to,
                ChatMessage.deleted_at.is_(None), ChatMessage.author_id.is_distinct_from(user_id))


def chat_list(user: User) -> list[Row]:
    """The user's chats, newest activity first, with unread and mention counts (two queries)."""
    unread = (select(func.count(ChatMessage.id)).where(_unread_filter(user.id))
              .correlate(Member).scalar_subquery())
    mentions = (select(func.count(Mention.message_id))
                .join(ChatMessage, ChatMessage.id == Mention.message_id)
                .where(_unread_filter(user.id), Mention.user_id == user.id)
                .correlate(Member).scalar_subquery())
    rows = db.session.execute(
        select(Chat, unread, mentions).join(Member, Member.chat_id == Chat.id)
        .where(Member.user_id == user.id)
        .order_by(Chat.last_message_at.desc(), Chat.id.desc())).all()
    others = _direct_others(user.id, [c.id for c, _, _ in rows if c.kind == DIRECT])
    result = []
    for chat, count, mention_count in rows:
        other = others.get(chat.id)
        title = chat.name if chat.kind != DIRECT else (other.name if other else "(nobody)")
        result.append(Row(chat, title, count or 0, mention_count or 0, other))
    return result


def _direct_others(user_id: int, chat_ids: list[int]) -> dict[int, User]:
    if not chat_ids:
        return {}
    rows = db.session.execute(
        select(Member.chat_id, User).join(User, User.id == Member.user_id)
        .where(Member.chat_id.in_(chat_ids), Member.user_id != user_id)).all()
    return {chat_id: user for chat_id, user in rows}


def unread_total(user_id: int) -> int:
    """Every unread message of the user over all their chats (one indexed query)."""
    return badge_counts(user_id)[0]


def alert_total(user_id: int) -> int:
    """Unread messages that notify: those of direct chats plus unread mentions of the user."""
    return badge_counts(user_id)[1]


def badge_counts(user_id: int) -> tuple[int, int]:
    """(unread, alerts) of the nav badge in one query: every unread message of the user, and
    those of direct chats plus the unread mentions of the user."""
    direct = func.sum(case((Chat.kind == DIRECT, 1), else_=0))
    unread, alerts, mentioned = db.session.execute(
        select(func.count(ChatMessage.id), direct, func.count(Mention.message_id))
        .select_from(Member).join(ChatMessage, _unread_filter(user_id))
        .join(Chat, Chat.id == Member.chat_id)
        .outerjoin(Mention, and_(Mention.message_id == ChatMessage.id,
                                 Mention.user_id == user_id))
        .where(Member.user_id == user_id)).one()
    return unread or 0, (alerts or 0) + (mentioned or 0)


def member_rows(chat_id: int) -> list:
    """The people of a chat as light rows (id, name, read_up_to), by name: what the message
    pane needs, without loading a User and a Member object per member on every poll."""
    return db.session.execute(
        select(User.id, User.name, Member.read_up_to).join(Member, Member.user_id == User.id)
        .where(Member.chat_id == chat_id).order_by(User.name)).all()


def messages(chat_id: int, *, from_id: int | None = None, before_id: int | None = None,
             now: datetime | None = None) -> list[ChatMessage]:
    """The window of a chat, oldest first: from `from_id` on, else the last 7 days; with
    `before_id`, the page of older messages just before it."""
    query = select(ChatMessage).where(ChatMessage.chat_id == chat_id)
    if before_id is not None:
        page = db.session.scalars(query.where(ChatMessage.id < before_id)
                                  .order_by(ChatMessage.id.desc()).limit(EARLIER_PAGE)).all()
        return list(reversed(page))
    if from_id is not None:
        query = query.where(ChatMessage.id >= from_id)
    else:
        query = query.where(ChatMessage.created_at >= (now or utcnow()) - WINDOW)
    return list(db.session.scalars(query.order_by(ChatMessage.id)))


def has_earlier(chat_id: int, first_id: int | None) -> bool:
    """Whether anything is older than the first message shown."""
    query = select(ChatMessage.id).where(ChatMessage.chat_id == chat_id)
    if first_id is not None:
        query = query.where(ChatMessage.id < first_id)
    return db.session.scalar(query.limit(1)) is not None


def seen_by(message: ChatMessage, markers: dict[int, int]) -> int:
    """How many members other than the author have read up to this message."""
    return sum(1 for uid, up_to in markers.items()
               if uid != message.author_id and up_to >= message.id)


def mention_ids(user_id: int, message_ids: list[int]) -> set[int]:
    """Which of these messages mention the user."""
    if not message_ids:
        return set()
    return set(db.session.scalars(select(Mention.message_id).where(
        Mention.user_id == user_id, Mention.message_id.in_(message_ids))))


def staff(exclude_id: int | None = None) -> list[User]:
    """Active people who can use the Team page."""
    query = select(User).where(User.active.is_(True), User.role_value >= int(Role.READ_ONLY))
    if exclude_id is not None:
        query = query.where(User.id != exclude_id)
    return list(db.session.scalars(query.order_by(User.name)))


def all_groups() -> list[Chat]:
    """Every group, by name (for the Admin's announcement setting)."""
    return list(db.session.scalars(select(Chat).where(Chat.kind == GROUP).order_by(Chat.name)))
