"""Usage jobs: fold the usage rollup's appended rows (rq cron, every minute)."""

from core.usage.rollup import compact


def compact_rollup() -> int:
    """Job: one compacted row per hour and key again (PostgreSQL; a no-op on SQLite)."""
    return compact()
