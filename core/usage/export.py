"""CSV exports: the Outbox and Inbox as filtered (every matching row, streamed a keyset page
at a time, never the whole list in memory) and the usage figures per day; every cell is
neutralised against formula injection."""

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.extensions import db
from core.messaging import queries
from core.messaging.models import Direction
from core.usage import figures
from core.usage.models import UsageRollup as R

PAGE = 1000  # rows per query; each page is written out and forgotten before the next
# OWASP CSV injection: a cell starting with one of these may run as a formula in a
# spreadsheet. A plain number ("+12025550123", "-0.5") cannot, and stays as it is.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
HEADER = ("id", "direction", "created_at_utc", "sent_at_utc", "channel", "category", "client",
          "from", "to", "subject", "body", "status", "reason", "segments", "cost", "currency")


def neutralise(value) -> str:
    """The cell text, prefixed with ' when a spreadsheet could read it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(TRIGGERS) and not NUMBER.match(text):
        return "'" + text
    return text


def csv_lines(rows: Iterable[Iterable]) -> Iterator[str]:
    """Each row as one CSV line (RFC 4180 quoting), every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def message_rows(direction: str, filters: queries.Filters, currency: str) -> Iterator[tuple]:
    """The header, then every message the list would show, newest first, page by page."""
    fetch = queries.outbox_page if direction == Direction.OUT else queries.inbox_page
    yield HEADER
    before = None
    while True:
        page = fetch(filters, before_id=before, limit=PAGE)
        for row in page.rows:
            yield _line(row, currency)
        if page.older is None:
            return
        before = page.older
        db.session.expunge_all()  # the page's rows are written: let them go


def _line(row: queries.MessageRow, currency: str) -> tuple:
    m = row.message
    return (m.id, m.direction, _iso(m.created_at), _iso(m.sent_at), m.channel, m.category,
            row.client.name if row.client else "", m.from_addr, m.to_addr, m.subject, m.body,
            m.status, m.reason, m.segments, "" if m.cost is None else f"{m.cost:.5f}",
            currency if m.cost is not None else "")


def _iso(moment) -> str:
    return moment.isoformat() if moment else ""


ROLLED = ("messages", "priced", "cost", "sent", "delivered", "failed", "opted_out")
USAGE_HEADER = ("day", "direction", "channel", "category", "messages", "cost", "currency",
                "sent", "delivered", "failed", "opted_out")


def usage_rows(first: date, last: date, tz: str, currency: str) -> Iterator[tuple]:
    """The header, then the usage page's figures per local day, direction, channel and
    category (days in order; read from the hourly rollup a stream of rows at a time)."""
    yield USAGE_HEADER
    since, until = figures.bounds(first, last, tz)
    zone = ZoneInfo(tz)
    key = (R.direction, R.channel, R.category)
    sums = [func.sum(getattr(R, name)) for name in ROLLED]
    query = select(R.hour, *key, *sums).where(R.hour >= since, R.hour < until).group_by(
        R.hour, *key).order_by(R.hour).execution_options(yield_per=PAGE)
    day, totals = None, {}
    for hour, *values in db.session.execute(query):
        local = hour.astimezone(zone).date()
        if local != day:
            yield from _day_lines(day, totals, currency)
            day, totals = local, {}
        counts = totals.setdefault(tuple(values[:3]), [0] * len(ROLLED))
        for i, n in enumerate(values[3:]):
            counts[i] += n or 0
    yield from _day_lines(day, totals, currency)


def _day_lines(day, totals: dict, currency: str) -> Iterator[tuple]:
    for (direction, channel, category), c in sorted(totals.items()):
        messages, priced, cost, sent, delivered, failed, opted_out = c
        if not messages:
            continue
        shown = f"{Decimal(cost):.5f}" if priced else ""
        yield (day.isoformat(), direction, channel, category, int(messages), shown,
               currency if priced else "", int(sent), int(delivered), int(failed),
               int(opted_out))
