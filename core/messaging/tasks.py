"""RQ jobs of the delivery pipeline; each takes ids, re-reads the database and is idempotent.

They run inside the worker's app context (worker.py pushes it before forking work horses).
"""


def fan_out(broadcast_id: int) -> int:
    """Job: create a broadcast's messages and enqueue their delivery (no-op if not due)."""
    from core.messaging.fanout import fan_out as run

    return run(broadcast_id)


def deliver(message_ids: list[int]) -> dict[str, int]:
    """Job: send the still-queued, due messages among `message_ids`."""
    from core.messaging.delivery import deliver as run

    return run(message_ids)


def sweep() -> dict[str, int]:
    """Job (every 30 s from scheduler.py): re-arm lost triggers, reconcile stuck sends."""
    from core.messaging.sweeper import sweep as run

    return run()
