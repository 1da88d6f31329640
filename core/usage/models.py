"""Usage counters (what each category has used this month, counted atomically) and the
hourly rollup the usage page reads."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Index, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.types import BigId, UTCDateTime


class UsageCounter(db.Model):
    """Messages and estimated spend of one category in one month (YYYY-MM, business zone)."""

    __tablename__ = "usage_counters"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    messages: Mapped[int] = mapped_column(BigInteger, default=0)
    spend: Mapped[Decimal] = mapped_column(Numeric(14, 5), default=Decimal(0))


class UsageRollup(db.Model):
    """Messages, cost and delivery counts of one UTC hour × direction × channel × category,
    written only by the database triggers of migration 0022_usage_rollup (never by the app).

    PostgreSQL's triggers append a row per statement (compacted false); core.usage.rollup
    folds them into the key's one compacted row, and old hours into days. A key's figures are
    the sum of its rows."""

    __tablename__ = "usage_rollup"
    __table_args__ = (
        Index("ix_usage_rollup_hour", "hour"),
        Index("uq_usage_rollup_key", "hour", "direction", "channel", "category", "grain",
              unique=True,
              postgresql_where=text("compacted"), sqlite_where=text("compacted")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime)
    direction: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(String(16))
    # "hour", or "day": the hours of one local day (business zone), folded by the compaction
    # once the day is two days old; `hour` is then the day's first instant.
    grain: Mapped[str] = mapped_column(String(4), server_default="hour")
    compacted: Mapped[bool] = mapped_column()
    messages: Mapped[int] = mapped_column(BigInteger)
    priced: Mapped[int] = mapped_column(BigInteger)  # messages with a cost
    cost: Mapped[Decimal] = mapped_column(Numeric(16, 5))
    sent: Mapped[int] = mapped_column(BigInteger)  # outgoing that went (core.usage.figures.WENT)
    delivered: Mapped[int] = mapped_column(BigInteger)
    failed: Mapped[int] = mapped_column(BigInteger)  # failed or expired
    opted_out: Mapped[int] = mapped_column(BigInteger)  # skipped: opted out
