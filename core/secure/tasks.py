"""RQ jobs of secure messages; each re-reads the database and is idempotent."""


def purge_expired(broadcast_id=None, secure_id=None) -> int:
    """Job (enqueued at the expiry moment): purge what is past expiry in its scope."""
    from core.secure.lifecycle import purge_expired as run

    return run(broadcast_id=broadcast_id, secure_id=secure_id)
