"""Usage figures for a date range: messages and cost by channel, category and direction,
delivery rates, and per-day counts for the chart.

They are read from usage_rollup (one row per UTC hour and key, kept by database triggers; hours
older than two days folded into local days), so a year over 1,000,000 messages sums a few
thousand rows. Recent days are made of UTC hours: exact for zones a whole number of hours from
UTC."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, tuple_

from core.bulk import is_postgresql
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
    if is_postgresql():
        totals, per_day = _in_one_pass(inside, tz)
    else:
        totals, per_day = _totals(inside), _per_day(inside, ZoneInfo(tz))
    result = Figures(first, last)
    rates = [0, 0, 0, 0]
    for direction, channel, category, n, priced, cost, *counts in totals:
        result.groups.append((direction, channel, category, int(n),
                              Decimal(cost) if priced else None))
        if direction == Direction.OUT:
            rates = [total + int(c or 0) for total, c in zip(rates, counts, strict=True)]
    result.sent, result.delivered, result.failed, result.opted_out = rates
    result.days = _days(first, last, per_day)
    return result


MEASURES = ("messages", "priced", "cost", "sent", "delivered", "failed", "opted_out")
KEY = (R.direction, R.channel, R.category)
REPLIES = func.sum(R.messages).filter(R.direction == Direction.IN)
DAILY = (func.sum(R.sent), func.sum(R.delivered), func.sum(R.failed), REPLIES)


def _ordered(rows) -> list:
    """Key rows with messages, received after sent, then by channel and category."""
    return sorted((row for row in rows if row[3]),
                  key=lambda row: (row[0] != Direction.OUT, row[1], row[2]))


def _totals(inside) -> list:
    """Per direction, channel and category: messages, priced, cost, sent, delivered, failed,
    opted out (keys whose messages were all deleted are left out)."""
    query = select(*KEY, *(func.sum(getattr(R, m)) for m in MEASURES)).where(
        *inside).group_by(*KEY)
    return _ordered(db.session.execute(query))


def _per_day(inside, zone: ZoneInfo):
    """SQLite (no time zones): sums per UTC hour, each put in its local day by Python."""
    query = select(R.hour, *DAILY).where(*inside).group_by(R.hour)
    return ((hour.astimezone(zone).date(), *n) for hour, *n in db.session.execute(query))


def _in_one_pass(inside, tz: str) -> tuple[list, list]:
    """PostgreSQL: the key totals and the local days' sums in one scan (GROUPING SETS)."""
    local = func.date(func.timezone(tz, func.timezone("UTC", R.hour)))
    query = select(*KEY, *(func.sum(getattr(R, m)) for m in MEASURES), REPLIES, local).where(
        *inside).group_by(func.grouping_sets(tuple_(*KEY), tuple_(local)))
    totals, per_day = [], []
    for row in db.session.execute(query):
        if row[-1] is None:
            totals.append(tuple(row[:-2]))
        else:
            per_day.append((row[-1], row[6], row[7], row[8], row[-2]))
    return _ordered(totals), per_day


def _days(first: date, last: date, rows) -> list[dict]:
    """Every day of the range with its sent, delivered, failed and replies (0 when none)."""
    counts: dict = defaultdict(lambda: [0, 0, 0, 0])
    for day, *values in rows:
        totals = counts[day]
        for i, n in enumerate(values):
            totals[i] += int(n or 0)
    result, day = [], first
    while day <= last:
        sent, delivered, failed, replied = counts.get(day, (0, 0, 0, 0))
        result.append({"day": day, "sent": sent, "delivered": delivered, "failed": failed,
                       "replies": replied})
        day += timedelta(days=1)
    return result
