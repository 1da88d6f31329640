"""RQ jobs of confirmations; they run inside the worker's app context."""

from core.confirmations.operations import expire


def expire_unanswered() -> int:
    """Job (every 5 minutes from scheduler.py): unanswered requests become No response."""
    return expire()
