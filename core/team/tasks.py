"""Staff-chat jobs: the retention purge (rq cron, daily)."""

import logging

from core import settings
from core.team.operations import purge_older_than

log = logging.getLogger(__name__)


def purge_old_messages() -> int:
    """Delete staff-chat messages older than the Admin's retention setting (default 1 year)."""
    days = max(1, int(settings.get("team_retention_days") or 365))
    count = purge_older_than(days)
    log.info("team purge: %d messages older than %d days", count, days)
    return count
