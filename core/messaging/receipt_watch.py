"""How long a send's progress box keeps watching for delivery receipts after the last message went.

A message that was sent is not yet final: its delivery receipt may still come (delivered, failed,
expired). The box polls until every message is final, or until no receipt has come for
RECEIPT_WAIT_SECONDS, then stops and says how many are still without a receipt.
"""

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from core.extensions import db
from core.messaging.models import Message, Status
from core.types import utcnow

DEFAULT_WAIT = 120  # seconds without a receipt after which the page stops waiting for one
NO_RECEIPTS = ("smtp",)  # providers that never send a receipt: "sent" is all they will say


def waiting_for_receipts(broadcast_id: int) -> tuple[int, datetime | None]:
    """Messages of a send still waiting for a receipt, and when the last one went or arrived."""
    awaiting, sent_last, delivered_last = db.session.execute(
        select(
            func.count().filter(Message.status == Status.SENT,
                                Message.provider.not_in(NO_RECEIPTS)),
            func.max(Message.sent_at),
            func.max(Message.delivered_at),
        ).where(Message.broadcast_id == broadcast_id)
    ).one()
    latest = max((at for at in (sent_last, delivered_last) if at is not None), default=None)
    return int(awaiting or 0), latest


def signature(progress: dict) -> str:
    """The counts a receipt changes, as one short string: equal strings mean nothing arrived."""
    return "-".join(str(progress[key]) for key in ("sent", "delivered", "failed", "cancelled"))


def watch(broadcast_id: int, progress: dict, seen: str = "", since: str = "") -> dict:
    """Whether the box should keep polling for receipts, and what to tell the reader.

    `seen`/`since` are the counts the box last showed and when they last changed (epoch
    seconds), carried in its polling URL: a receipt that leaves no timestamp (a failure) still
    restarts the wait, while a reload of a long-quiet send stops at once.
    """
    awaiting, latest = waiting_for_receipts(broadcast_id)
    now = utcnow()
    current = signature(progress)
    changed_at = latest
    if seen and seen != current:
        changed_at = now
    elif seen and since.isdigit():
        observed = datetime.fromtimestamp(int(since), tz=now.tzinfo)
        changed_at = max(changed_at, observed) if changed_at else observed
    wait = timedelta(seconds=current_app.config.get("RECEIPT_WAIT_SECONDS", DEFAULT_WAIT))
    quiet = changed_at is None or now - changed_at >= wait
    stopped = bool(progress["done"] and awaiting and quiet)
    return {
        "awaiting": awaiting if progress["done"] else 0,
        "settled": bool(progress["done"] and not awaiting),
        "receipts_stopped": stopped,
        "wait_seconds": int(wait.total_seconds()),
        "signature": current,
        "changed_at": int((changed_at or now).timestamp()),
    }
