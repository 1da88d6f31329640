"""A cheap "has anything changed?" token for the unread badge every staff page polls.

Whatever changes the unread count or a thread's state (a text stored, a thread read or marked
unread, assigned, closed or reopened) replaces the token in Redis; the badge sends back the
token it shows, and an unchanged token is answered 204 without touching the database. A
flushed Redis simply yields a new token: the next poll recounts once.
"""

import logging
import secrets

from redis.exceptions import RedisError

from core.jobs import redis

log = logging.getLogger(__name__)

KEY = "twoway:unread:version"


def bump(pipe=None) -> None:
    """Tell every polling badge that the unread count may have changed (inside `pipe`, a
    Redis pipeline the caller executes, when given)."""
    if pipe is not None:
        pipe.set(KEY, secrets.token_hex(6))
        return
    try:
        redis().set(KEY, secrets.token_hex(6))
    except RedisError:  # the badge then recounts on its own schedule; never fail a webhook
        log.warning("could not bump the unread version", exc_info=True)


def version() -> str:
    """The current token (made on first use, or after Redis lost it)."""
    token = secrets.token_hex(6)
    try:
        connection = redis()
        if connection.set(KEY, token, nx=True):
            return token
        current = connection.get(KEY)
    except RedisError:  # no Redis: every poll recounts rather than a page failing
        log.warning("could not read the unread version", exc_info=True)
        return token
    return current.decode() if isinstance(current, bytes) else str(current or token)
