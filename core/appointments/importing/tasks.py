"""RQ jobs of calendar feeds: a periodic one that finds the feeds due, and one job per feed."""

from flask import current_app

from core.appointments.importing import feeds
from core.jobs import queue

FEED_TIMEOUT = 120


def sync_due_feeds() -> int:
    """Job (every minute from scheduler.py): enqueue one sync job per feed that is due."""
    due = feeds.due_feeds()
    for feed_id in due:
        queue("low").enqueue(sync_feed, feed_id, job_timeout=FEED_TIMEOUT)
    return len(due)


def sync_feed(feed_id: int, force: bool = False) -> dict | None:
    """Job: fetch and import one feed (skipped when it is not due, unless forced)."""
    return feeds.sync_feed(feed_id, tz=current_app.config["BUSINESS_TIMEZONE"],
                           region=current_app.config["DEFAULT_REGION"], force=force)


def queue_sync(feed_id: int) -> None:
    """Queue a forced sync of one feed (an Admin's "Sync now", or a feed just added)."""
    queue("low").enqueue(sync_feed, feed_id, True, job_timeout=FEED_TIMEOUT)
