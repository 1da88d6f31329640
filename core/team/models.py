"""Chats, their members (with a read marker) and their messages."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.types import BigId, UTCDateTime, utcnow

DIRECT, GROUP = "direct", "group"
OWNER, MEMBER = "owner", "member"


class Chat(db.Model):
    """A direct chat (two people, `direct_key` "low:high") or a named group."""

    __tablename__ = "team_chats"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default=GROUP)
    name: Mapped[str] = mapped_column(String(80), default="")
    direct_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Member(db.Model):
    """One person's place in a chat; unread is every message after `read_up_to`."""

    __tablename__ = "team_members"

    chat_id: Mapped[int] = mapped_column(ForeignKey("team_chats.id", ondelete="CASCADE"),
                                         primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(10), default=MEMBER)
    read_up_to: Mapped[int] = mapped_column(BigId, default=0)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ChatMessage(db.Model):
    """One message in a chat; a shared client conversation carries its `client_id`."""

    __tablename__ = "team_messages"
    __table_args__ = (Index("ix_team_messages_chat_id_id", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("team_chats.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, default="")
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Mention(db.Model):
    """An @name in a message: the named member gets a highlighted, counted mention."""

    __tablename__ = "team_mentions"

    message_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("team_messages.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
