"""The usage rollup (usage_rollup, kept by the triggers of migration 0022_usage_rollup), folded
by a periodic job: PostgreSQL's appended rows into one compacted row per hour and key, then the
hours of days older than FOLD_AFTER_DAYS into one row per local day, so a year is ~3,000 rows
rather than ~60,000. A late change to an old message (a receipt) lands as an hour row and is
folded into its day by the next run; the figures are always the sum of all rows."""

import logging
from collections import defaultdict
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, text
from sqlalchemy.dialects import postgresql, sqlite

from core import settings
from core.bulk import is_postgresql
from core.extensions import db
from core.types import utcnow
from core.usage.models import UsageRollup as R

log = logging.getLogger(__name__)
LOCK = 0x75736167  # "usag": one compaction at a time (pg_try_advisory_xact_lock)
FOLD_AFTER_DAYS = 2  # receipts of a day's messages mostly arrive within minutes
KEYS = "hour, direction, channel, category"
MEASURES = ("messages", "priced", "cost", "sent", "delivered", "failed", "opted_out")
COMPACT = text(f"""
WITH gone AS (DELETE FROM usage_rollup WHERE NOT compacted RETURNING *)
INSERT INTO usage_rollup ({KEYS}, grain, compacted, {", ".join(MEASURES)})
SELECT {KEYS}, grain, true, {", ".join(f"sum({m})" for m in MEASURES)} FROM gone
GROUP BY {KEYS}, grain ORDER BY {KEYS}, grain
ON CONFLICT ({KEYS}, grain) WHERE compacted DO UPDATE SET
{", ".join(f"{m} = usage_rollup.{m} + excluded.{m}" for m in MEASURES)}
""")


def compact(now: datetime | None = None) -> int:
    """Fold the appended rows and the old hours, and commit; how many rows were written."""
    if is_postgresql():
        if not db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK}):
            db.session.rollback()
            return 0  # another worker is compacting
        written = db.session.execute(COMPACT).rowcount
    else:
        written = 0  # SQLite's triggers write compacted rows themselves
    written += _fold_days(now or utcnow())
    db.session.commit()
    log.info("usage rollup: %d rows written", written)
    return written


def _fold_days(now: datetime) -> int:
    """Replace the hour rows of local days before the cutoff by one row per day and key."""
    zone = ZoneInfo(settings.business_timezone() or "UTC")
    today = now.astimezone(zone).date()
    cutoff = datetime.combine(today - timedelta(days=FOLD_AFTER_DAYS), time(), zone)
    columns = [R.hour, R.direction, R.channel, R.category, *(getattr(R, m) for m in MEASURES)]
    gone = db.session.execute(delete(R).where(R.grain == "hour", R.hour < cutoff)
                              .returning(*columns))
    days: dict = defaultdict(lambda: [0] * len(MEASURES))
    for hour, *key_and_values in gone:
        start = datetime.combine(hour.astimezone(zone).date(), time(), zone)
        sums = days[(start, *key_and_values[:3])]
        for i, n in enumerate(key_and_values[3:]):
            sums[i] += n
    if days:
        _add_days(days)
    return len(days)


def _add_days(days: dict) -> None:
    dialect = postgresql if is_postgresql() else sqlite
    rows = [{"hour": start, "direction": d, "channel": c, "category": k, "grain": "day",
             "compacted": True, **dict(zip(MEASURES, sums, strict=True))}
            for (start, d, c, k), sums in sorted(days.items())]
    statement = dialect.insert(R)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["hour", "direction", "channel", "category", "grain"],
        index_where=text("compacted"),
        set_={m: getattr(R, m) + getattr(statement.excluded, m) for m in MEASURES}), rows)
