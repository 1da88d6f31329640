"""Presence: a Redis key per user with a short TTL, refreshed by the open Team page.

The page sends a heartbeat every 20 s with the time of the person's last keystroke or click;
the key lives 60 s, so a closed tab turns into "last seen" within a minute. "Last seen" itself
is kept without expiry. Do-not-disturb is a plain flag. Every function takes `now` (epoch
seconds) so tests can move the clock.
"""

import time
from dataclasses import dataclass

from core.jobs import redis

ONLINE_TTL = 60  # seconds a heartbeat keeps someone online
ACTIVE_WITHIN = 60  # seconds since the last keystroke or click for the green dot
AWAY_AFTER = 300  # seconds idle before "away"


@dataclass(frozen=True)
class Presence:
    """What the list shows beside a person."""

    state: str  # "active" (green), "idle" (page open), "away" (idle 5 min), "offline"
    last_seen: float | None
    dnd: bool


def heartbeat(user_id: int, *, idle: float = 0, now: float | None = None) -> None:
    """Record that the user's page is open and they last acted `idle` seconds ago."""
    now = time.time() if now is None else now
    active = now - max(0.0, min(idle, 86400.0))
    pipe = redis().pipeline(transaction=False)
    pipe.set(f"team:online:{user_id}", f"{now}:{active}", ex=ONLINE_TTL)
    pipe.set(f"team:seen:{user_id}", now)
    pipe.execute()


def set_dnd(user_id: int, on: bool) -> None:
    """Turn do-not-disturb on or off."""
    if on:
        redis().set(f"team:dnd:{user_id}", 1)
    else:
        redis().delete(f"team:dnd:{user_id}")


def of(user_ids, *, now: float | None = None) -> dict[int, Presence]:
    """Presence of each user, in one round trip."""
    now = time.time() if now is None else now
    user_ids = list(user_ids)
    pipe = redis().pipeline(transaction=False)
    for uid in user_ids:
        pipe.get(f"team:online:{uid}")
        pipe.get(f"team:seen:{uid}")
        pipe.exists(f"team:dnd:{uid}")
    values = pipe.execute()
    result = {}
    for i, uid in enumerate(user_ids):
        online, seen, dnd = values[3 * i: 3 * i + 3]
        result[uid] = state(online, seen, bool(dnd), now)
    return result


def state(online, seen, dnd: bool, now: float) -> Presence:
    """Presence from the raw Redis values (the TTL is checked again against `now`)."""
    last_seen = float(seen) if seen else None
    if online:
        beat, active = (float(x) for x in (online.decode() if isinstance(online, bytes)
                                           else online).split(":"))
        if now - beat <= ONLINE_TTL:
            idle = now - active
            label = "active" if idle <= ACTIVE_WITHIN else "away" if idle >= AWAY_AFTER else "idle"
            return Presence(label, active, dnd)
    return Presence("offline", last_seen, dnd)
