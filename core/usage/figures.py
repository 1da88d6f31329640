"""Usage figures for a date range: messages and cost by channel, category and direction,
delivery rates, and per-day counts for the chart.

They are read from usage_rollup (one row per UTC hour and key, kept by database triggers), so
a year over 1,000,000 messages sums a few thousand rows. Days are the business zone's, made
from UTC hours: exact for zones a whole number of hours from UTC."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.extensions import db
from core.messaging.models import Direction, Status
from core.usage.models import UsageRollup as R

WENT = (Status.SENT, Status.DELIVERED, Status.FAILED, Status.EXPIRED, Status.RECONCILE)


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


def bounds(first: date, last: date, tz: str) -> tuple[datetime, datetime]:
    """[since, until): the range's first local midnight to the one after its last day."""
    zone = ZoneInfo(tz)
    return (datetime.combine(first, datetime.min.time(), zone),
            datetime.combine(last + timedelta(days=1), datetime.min.time(), zone))


def figures(first: date, last: date, tz: str) -> Figures:
    """The range's figures (stored UTC, days in `tz`)."""
    since, until = bounds(first, last, tz)
    inside = (R.hour >= since, R.hour < until)
    result = Figures(first, last)
    result.groups = groups(inside)
    out = db.session.execute(select(
        func.sum(R.sent), func.sum(R.delivered), func.sum(R.failed), func.sum(R.opted_out),
    ).where(R.direction == Direction.OUT, *inside)).one()
    result.sent, result.delivered, result.failed, result.opted_out = (int(n or 0) for n in out)
    result.days = days(first, last, ZoneInfo(tz), inside)
    return result


def groups(inside) -> list[tuple]:
    """(direction, channel, category, messages, cost or None while none is priced)."""
    query = select(R.direction, R.channel, R.category, func.sum(R.messages), func.sum(R.priced),
                   func.sum(R.cost)).where(*inside).group_by(
        R.direction, R.channel, R.category).order_by(R.direction.desc(), R.channel, R.category)
    return [(direction, channel, category, int(n), Decimal(cost) if priced else None)
            for direction, channel, category, n, priced, cost in db.session.execute(query)
            if n]


def days(first: date, last: date, zone: ZoneInfo, inside) -> list[dict]:
    """Per local day: sent, delivered, failed, replies (summed per UTC hour, then by day)."""
    replies = func.sum(R.messages).filter(R.direction == Direction.IN)
    query = select(R.hour, func.sum(R.sent), func.sum(R.delivered), func.sum(R.failed),
                   replies).where(*inside).group_by(R.hour)
    counts: dict = defaultdict(lambda: [0, 0, 0, 0])
    for hour, *values in db.session.execute(query):
        day = counts[hour.astimezone(zone).date()]
        for i, n in enumerate(values):
            day[i] += int(n or 0)
    result, day = [], first
    while day <= last:
        sent, delivered, failed, replied = counts.get(day, (0, 0, 0, 0))
        result.append({"day": day, "sent": sent, "delivered": delivered, "failed": failed,
                       "replies": replied})
        day += timedelta(days=1)
    return result
