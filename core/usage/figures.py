"""Usage figures for a date range: messages and cost by channel, category and direction,
delivery rates, and per-day counts for the chart (aggregate queries, one pass each)."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from core.extensions import db
from core.messaging.models import Direction, Message, Status
from core.messaging.recipients import SKIP_OPTED_OUT


@dataclass
class Figures:
    """What the usage page shows for [first, last] (whole days in the business zone)."""

    first: date
    last: date
    groups: list[tuple] = field(default_factory=list)  # (direction, channel, category, n, cost)
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    opted_out: int = 0
    days: list[dict] = field(default_factory=list)  # {day, sent, delivered, failed, replies}

    def rate(self, part: int) -> float:
        """A share of the messages that went out, in percent."""
        return round(100 * part / self.sent, 1) if self.sent else 0.0

    @property
    def total_cost(self) -> Decimal:
        return sum((g[4] or Decimal(0) for g in self.groups), Decimal(0))


def figures(first: date, last: date, tz: str) -> Figures:
    """The range's figures (stored UTC, days in `tz`)."""
    zone = ZoneInfo(tz)
    since = datetime.combine(first, datetime.min.time(), zone)
    until = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
    inside = (Message.created_at >= since, Message.created_at < until)
    result = Figures(first, last)
    grouped = select(Message.direction, Message.channel, Message.category, func.count(),
                     func.sum(Message.cost)).where(*inside).group_by(
        Message.direction, Message.channel, Message.category).order_by(
        Message.direction.desc(), Message.channel, Message.category)
    result.groups = [tuple(row) for row in db.session.execute(grouped)]
    _rates(result, inside)
    result.days = _days(first, last, zone, inside)
    return result


WENT = (Status.SENT, Status.DELIVERED, Status.FAILED, Status.EXPIRED, Status.RECONCILE)


def _rates(result: Figures, inside) -> None:
    out = Message.direction == Direction.OUT
    row = db.session.execute(select(
        func.count().filter(Message.status.in_(WENT)),
        func.count().filter(Message.status == Status.DELIVERED),
        func.count().filter(Message.status.in_((Status.FAILED, Status.EXPIRED))),
        func.count().filter(Message.status == Status.SKIPPED,
                            Message.reason == SKIP_OPTED_OUT),
    ).where(out, *inside)).one()
    result.sent, result.delivered, result.failed, result.opted_out = row


def _days(first: date, last: date, zone: ZoneInfo, inside) -> list[dict]:
    """Per local day: sent, delivered, failed, replies (rows are few: one per message kind and
    hour would be more; the day is worked out in Python from the UTC hour)."""
    hour = func.substr(func.cast(Message.created_at, db.String), 1, 13)
    kind = case((Message.direction == Direction.IN, "replies"),
                (Message.status == Status.DELIVERED, "delivered"),
                (Message.status.in_((Status.FAILED, Status.EXPIRED)), "failed"),
                (Message.status.in_(WENT), "sent"), else_="other")
    rows = db.session.execute(select(hour, kind, func.count()).where(*inside).group_by(hour, kind))
    counts: dict = defaultdict(lambda: defaultdict(int))
    for at, what, n in rows:
        moment = datetime.strptime(at.replace("T", " "), "%Y-%m-%d %H").replace(
            tzinfo=ZoneInfo("UTC"))
        counts[moment.astimezone(zone).date()][what] += n
    days, day = [], first
    while day <= last:
        c = counts.get(day, {})
        delivered, failed = c.get("delivered", 0), c.get("failed", 0)
        days.append({"day": day, "sent": c.get("sent", 0) + delivered + failed,
                     "delivered": delivered, "failed": failed, "replies": c.get("replies", 0)})
        day += timedelta(days=1)
    return days
