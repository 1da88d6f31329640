"""The hourly usage rollup (usage_rollup, kept by the triggers of migration 0022_usage_rollup):
fold PostgreSQL's appended rows into one compacted row per key, a periodic job."""

import logging

from sqlalchemy import text

from core.bulk import is_postgresql
from core.extensions import db

log = logging.getLogger(__name__)
LOCK = 0x75736167  # "usag": one compaction at a time (pg_try_advisory_xact_lock)
KEYS = "hour, direction, channel, category"
MEASURES = ("messages", "priced", "cost", "sent", "delivered", "failed", "opted_out")
COMPACT = text(f"""
WITH gone AS (DELETE FROM usage_rollup WHERE NOT compacted RETURNING *)
INSERT INTO usage_rollup ({KEYS}, compacted, {", ".join(MEASURES)})
SELECT {KEYS}, true, {", ".join(f"sum({m})" for m in MEASURES)} FROM gone
GROUP BY {KEYS} ORDER BY {KEYS}
ON CONFLICT ({KEYS}) WHERE compacted DO UPDATE SET
{", ".join(f"{m} = usage_rollup.{m} + excluded.{m}" for m in MEASURES)}
""")


def compact() -> int:
    """Fold the rows the triggers appended into their keys' compacted rows and commit; how many
    keys were written (SQLite's triggers write compacted rows themselves: nothing to do)."""
    if not is_postgresql():
        return 0
    if not db.session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK}):
        db.session.rollback()
        return 0  # another worker is compacting
    written = db.session.execute(COMPACT).rowcount
    db.session.commit()
    log.info("usage rollup: %d keys compacted", written)
    return written
