"""Usage counters: what each category has used this month, counted atomically."""

from decimal import Decimal

from sqlalchemy import BigInteger, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db


class UsageCounter(db.Model):
    """Messages and estimated spend of one category in one month (YYYY-MM, business zone)."""

    __tablename__ = "usage_counters"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    category: Mapped[str] = mapped_column(String(16), primary_key=True)
    messages: Mapped[int] = mapped_column(BigInteger, default=0)
    spend: Mapped[Decimal] = mapped_column(Numeric(14, 5), default=Decimal(0))
