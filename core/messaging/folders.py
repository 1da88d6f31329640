"""The Outbox sidebar: folders grouped as users think of them — Appointments, Mass notices, Other.

Every list is bounded (a page plus a keyset cursor for "more") and every count stops at
COUNT_CAP, so the sidebar costs a few index range scans however many messages there are.
"""

from dataclasses import dataclass

from sqlalchemy import exists, func, select

from core.extensions import db
from core.messaging.models import Broadcast, Direction, Message

COUNT_CAP = 1000


@dataclass
class Notice:
    """A mass notice (one broadcast to several recipients) and how many messages it made."""

    broadcast: Broadcast
    count: int


@dataclass
class NoticePage:
    """One page of mass notices, newest first, with the cursor of the next (older) page."""

    notices: list[Notice]
    older: int | None = None


@dataclass
class GroupCounts:
    """How many outbound messages each group holds (at most COUNT_CAP; see `capped`)."""

    appointments: int
    notices: int
    other: int


def capped(n: int) -> str:
    """A count as the sidebar shows it: "1000+" once it reaches the cap."""
    return f"{COUNT_CAP}+" if n >= COUNT_CAP else str(n)


def _count(query) -> int:
    """Rows of `query`, counting no further than COUNT_CAP."""
    return db.session.scalar(select(func.count()).select_from(query.limit(COUNT_CAP).subquery()))


def _is_notice():
    """A mass notice: a broadcast to more than one recipient that made at least one message."""
    made = exists().where(Message.broadcast_id == Broadcast.id, Message.direction == Direction.OUT)
    return (Broadcast.total > 1) & made


def group_counts() -> GroupCounts:
    """Messages tied to an appointment, mass notices, and messages tied to no appointment."""
    out = select(Message.id).where(Message.direction == Direction.OUT)
    return GroupCounts(
        appointments=_count(out.where(Message.appointment_id.is_not(None))),
        notices=_count(select(Broadcast.id).where(_is_notice())),
        other=_count(out.where(Message.appointment_id.is_(None))),
    )


def notice_folders(before_id: int | None = None, limit: int = 10) -> NoticePage:
    """Mass notices, newest first, each with its count of outbound messages."""
    count = (select(func.count(Message.id))
             .where(Message.broadcast_id == Broadcast.id, Message.direction == Direction.OUT)
             .scalar_subquery())
    query = select(Broadcast, count).where(_is_notice())
    if before_id is not None:
        query = query.where(Broadcast.id < before_id)
    found = [Notice(b, n) for b, n in db.session.execute(
        query.order_by(Broadcast.id.desc()).limit(limit + 1))]
    older = found[limit - 1].broadcast.id if len(found) > limit else None
    return NoticePage(found[:limit], older)


def notice(broadcast_id: int) -> Broadcast | None:
    """The broadcast of a mass-notice folder, for its heading."""
    return db.session.get(Broadcast, broadcast_id)
