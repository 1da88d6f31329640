"""Per-account sign-in limit in Redis: 10 failures in 15 minutes make that account wait.

This comes on top of the per-address limit (Flask-Limiter), so an attacker spreading guesses
over many addresses still gets at most 10 tries per account every 15 minutes. The key is a
hash of the address typed, so unknown accounts are limited exactly like real ones.
"""

import hashlib

from flask import current_app

MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60


def _key(email: str) -> str:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return f"signin:failures:{digest}"


def _redis():
    return current_app.extensions["redis"]


def wait_seconds(email: str) -> int:
    """How long this account must still wait before it may sign in (0: it may try now)."""
    key = _key(email)
    failures = int(_redis().get(key) or 0)
    if failures < MAX_FAILURES:
        return 0
    return max(int(_redis().ttl(key)), 1)


def record_failure(email: str) -> bool:
    """Count one failed sign-in; True when it is the one that makes the account wait."""
    key = _key(email)
    pipe = _redis().pipeline()
    pipe.incr(key)
    pipe.expire(key, WINDOW_SECONDS, nx=True)  # the window starts at the first failure
    failures = pipe.execute()[0]
    if failures == MAX_FAILURES:
        _redis().expire(key, WINDOW_SECONDS)  # then the wait is a full window
        return True
    return False


def clear(email: str) -> None:
    """Forget the failures of an account that signed in."""
    _redis().delete(_key(email))
