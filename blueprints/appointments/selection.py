"""The appointments a user has ticked, kept across pages (and filters) until cleared.

The Flask session holds only a random token; the ids live in a Redis set under that token.
A cookie session would cap a selection at a few hundred ids (4 KB), and a mass notice may
well go to more. The selection is disposable state: losing it (Redis flushed, 12 hours idle)
only means ticking again.
"""

import secrets

from flask import session
from flask_login import current_user

from core.jobs import redis

SESSION_KEY = "appointment_selection"
TTL_SECONDS = 12 * 3600


def _key(create: bool = False) -> str | None:
    """The Redis key of this browser session's selection (made on first use)."""
    token = session.get(SESSION_KEY)
    if token is None:
        if not create:
            return None
        token = session[SESSION_KEY] = secrets.token_urlsafe(16)
    return f"tidings:selection:{current_user.get_id()}:{token}"


def selected_ids() -> list[int]:
    """The ids of the selected appointments, ascending."""
    key = _key()
    if key is None:
        return []
    return sorted(int(i) for i in redis().smembers(key))


def count() -> int:
    """How many appointments are selected."""
    key = _key()
    return 0 if key is None else int(redis().scard(key))


def add(ids) -> None:
    """Select these appointment ids."""
    ids = [int(i) for i in ids]
    if ids:
        key = _key(create=True)
        with redis().pipeline() as pipe:
            pipe.sadd(key, *ids)
            pipe.expire(key, TTL_SECONDS)
            pipe.execute()


def remove(ids) -> None:
    """Unselect these appointment ids."""
    key = _key()
    ids = [int(i) for i in ids]
    if key is not None and ids:
        redis().srem(key, *ids)


def contains(ids) -> set[int]:
    """Those of `ids` that are selected (one round trip)."""
    key = _key()
    ids = [int(i) for i in ids]
    if key is None or not ids:
        return set()
    flags = redis().smismember(key, ids)
    return {i for i, flag in zip(ids, flags, strict=True) if flag}


def clear() -> None:
    """Forget the whole selection (after a send, or when the user clears it)."""
    key = _key()
    if key is not None:
        redis().delete(key)
