"""Monthly quotas per category (messages and/or estimated spend), counted atomically.

A send is counted in the transaction that writes its broadcast: one conditional UPDATE adds
it only while the total stays within the quota, so two sends started at the same moment
cannot both pass (PostgreSQL re-checks the condition after the other commits; SQLite runs
one writer at a time). Nothing is written when the send is refused."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from core import settings
from core.bulk import is_postgresql
from core.extensions import db
from core.messaging.models import Category, Channel
from core.types import utcnow
from core.usage.models import UsageCounter

WARN_AT = Decimal("0.8")
COUNTERS = UsageCounter.__table__


class QuotaExceeded(ValueError):
    """A send would take a category past its monthly quota (message fit to show)."""


@dataclass(frozen=True)
class Left:
    """One category's month: used, quota (None: none) and what remains."""

    category: str
    messages: int
    spend: Decimal
    max_messages: int | None
    max_spend: Decimal | None

    @property
    def messages_left(self) -> int | None:
        return None if self.max_messages is None else max(self.max_messages - self.messages, 0)

    @property
    def spend_left(self) -> Decimal | None:
        return None if self.max_spend is None else max(self.max_spend - self.spend, Decimal(0))

    @property
    def warning(self) -> bool:
        """True from 80 % of either quota on."""
        return any(limit and used >= limit * WARN_AT for used, limit in (
            (self.messages, self.max_messages), (self.spend, self.max_spend)))


def month_of(moment: datetime | None = None) -> str:
    """YYYY-MM of the moment in the business time zone."""
    zone = ZoneInfo(settings.business_timezone() or "UTC")
    return f"{(moment or utcnow()).astimezone(zone):%Y-%m}"


def limits(category: str) -> tuple[int | None, Decimal | None]:
    """The category's monthly quota: (messages, spend), None where none is set."""
    values = settings.snapshot([f"quota_{category}_messages", f"quota_{category}_spend"])
    return (_number(values[f"quota_{category}_messages"], int),
            _number(values[f"quota_{category}_spend"], Decimal))


def _number(text, kind):
    try:
        value = kind(str(text).strip()) if str(text or "").strip() else None
    except (ValueError, InvalidOperation):
        return None
    return value if value is None or value >= 0 else None


def left(category: str, month: str | None = None) -> Left:
    """What the category used this month and what its quota leaves."""
    row = db.session.get(UsageCounter, (month or month_of(), category))
    max_messages, max_spend = limits(category)
    return Left(category, row.messages if row else 0, row.spend if row else Decimal(0),
                max_messages, max_spend)


def estimate_spend(summary) -> Decimal:
    """The estimated cost of a plan's texts (segments at the configured SMS price)."""
    if not summary.channels.get(Channel.SMS.value) and not summary.channels.get(Channel.SMS):
        return Decimal(0)
    price = Decimal(str(current_app.config.get("SMS_PRICE_PER_SEGMENT", 0.0079)))
    return price * summary.total_segments


def reserve(category: str, messages: int, spend: Decimal, month: str | None = None) -> None:
    """Count a send against the category's quota in the caller's transaction, or raise
    QuotaExceeded saying by how much (nothing counted then)."""
    month = month or month_of()
    max_messages, max_spend = limits(category)
    _ensure_row(month, category)
    fits = [COUNTERS.c.month == month, COUNTERS.c.category == category]
    if max_messages is not None:
        fits.append(COUNTERS.c.messages + messages <= max_messages)
    if max_spend is not None:
        fits.append(COUNTERS.c.spend + spend <= max_spend)
    done = db.session.execute(update(COUNTERS).where(*fits).values(
        messages=COUNTERS.c.messages + messages, spend=COUNTERS.c.spend + spend))
    if done.rowcount != 1:
        raise QuotaExceeded(_refusal(left(category, month), messages, spend))


def _ensure_row(month: str, category: str) -> None:
    dialect = postgresql if is_postgresql() else sqlite
    db.session.execute(dialect.insert(COUNTERS).values(
        month=month, category=category, messages=0, spend=0).on_conflict_do_nothing())


def _refusal(now: Left, messages: int, spend: Decimal) -> str:
    over = []
    if now.max_messages is not None and now.messages + messages > now.max_messages:
        over.append(f"{now.messages + messages - now.max_messages:,} message(s) over the "
                    f"monthly quota of {now.max_messages:,} ({now.messages_left:,} left)")
    if now.max_spend is not None and now.spend + spend > now.max_spend:
        over.append(f"{now.spend + spend - now.max_spend:.2f} {settings.currency()} over the "
                    f"monthly spend quota of {now.max_spend:.2f} ({now.spend_left:.2f} left)")
    return (f"This {now.category} send would go " + " and ".join(over or ["over the quota"])
            + "; nothing was sent.")


def all_left() -> list[Left]:
    """Every category's month, for Compose and the quota page."""
    return [left(c.value) for c in Category]

