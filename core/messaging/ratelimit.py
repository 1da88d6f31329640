"""The provider rate limit, shared by every worker through Redis: at most N calls in any second.

Two Lua scripts on Redis's own clock (so workers on different machines agree):
- pace(): a token bucket that hands out slots 1/N s apart. Workers reserve their slot and
  sleep until it *before* claiming a message, so the waiting happens while nothing is claimed.
- admit(): a sliding-window log checked *right before* the request leaves (the Vonage
  providers call it from their connection pool, once the connection is up and just before
  the request is written; other providers right before send). The claim's database write
  and the SDK's own work between the slot and the wire can make calls bunch up; admit()
  guarantees the limit whatever happened in between (it rarely has to wait).
Both count a "second" as SLACK seconds (PROVIDER_RATE_SLACK, default 1.15), room for the
jitter between our admission and the provider's clock: a busy CPU preempting the worker
between the admission and the socket write, the network, the provider's own stamping. The
pacing drill (tests/drills/test_pacing.py) put 31 calls into one second at a 30/s limit in
about one run in twenty with 5% slack and once in 30 runs with 10% at load 7-10 on 2 cores; 15%
held in every run. The price is the rate: at most N / 1.15 calls per second are made. (And
the admission must come after the TLS handshake: admitted before it, 5 workers of 4 senders
put up to 34 calls in one second at the fake Vonage, each new connection's handshake holding
its admitted request back by up to 70 ms.)

Delivery makes one call per message (Pacer): the admission at the wire also reserves the
sender's slot for its next message.
"""

import math
import os
import time
from itertools import count

from flask import current_app

from core.jobs import redis

SLACK = 1.15
PACE_KEY = "tidings:rate:{}:next"
WINDOW_KEY = "tidings:rate:{}:window"
_serial = count()

# KEYS[1]: when the next slot frees (µs, Redis clock). ARGV[1]: µs between slots.
# Returns the µs to wait for the slot just reserved.
PACE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local keep_ms = math.ceil((slot + interval - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.0f', slot + interval), 'PX', keep_ms)
return string.format('%.0f', slot - now)
"""

# KEYS[1]: sorted set of recent calls (score = µs); KEYS[2], when ARGV[4] > 0: the pace key
# (as PACE). ARGV: limit, window µs, a unique tag, µs between slots (0: no slot). Records the
# call when fewer than `limit` happened in the window and then, with ARGV[4], also reserves
# the caller's next slot as PACE does: one round trip per message instead of two. Returns
# {µs to wait before trying again (0: admitted), µs until the slot just reserved (-1: none)}.
ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit, window, interval = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
  return {string.format('%.0f', math.max(oldest + window - now, 1)), '-1'}
end
redis.call('ZADD', KEYS[1], string.format('%.0f', now), string.format('%.0f', now) .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000) + 1000)
if interval <= 0 then
  return {'0', '-1'}
end
local slot = math.max(now, tonumber(redis.call('GET', KEYS[2]) or '0'))
local keep_ms = math.ceil((slot + interval - now) / 1000) + 1000
redis.call('SET', KEYS[2], string.format('%.0f', slot + interval), 'PX', keep_ms)
return {'0', string.format('%.0f', slot - now)}
"""


def configured_rate() -> float:
    """Provider calls per second from the app config (PROVIDER_RATE_PER_SECOND, default 30)."""
    return float(current_app.config.get("PROVIDER_RATE_PER_SECOND", 30) or 0)


def slack() -> float:
    """How much longer than a second the limiter's second is (PROVIDER_RATE_SLACK, default
    SLACK): room for the jitter between our admission and the provider's clock."""
    try:
        return float(current_app.config.get("PROVIDER_RATE_SLACK") or SLACK)
    except RuntimeError:  # outside an app context
        return SLACK


def interval_us(rate: float) -> int:
    """Microseconds between two slots at `rate` calls per second."""
    return math.ceil(1_000_000 * slack() / rate)


def reserve(bucket: str, rate: float | None = None) -> float:
    """Reserve the next slot of `bucket`; returns the seconds until it (the caller waits)."""
    rate = configured_rate() if rate is None else rate
    if rate <= 0:
        return 0.0
    script = redis().register_script(PACE)
    return int(script(keys=[PACE_KEY.format(bucket)], args=[interval_us(rate)])) / 1e6


def pace(bucket: str, rate: float | None = None) -> float:
    """Reserve the next slot of `bucket` and sleep until it; returns the seconds waited."""
    wait = reserve(bucket, rate)
    if wait > 0:
        time.sleep(wait)
    return wait


def admit(bucket: str, rate: float | None = None) -> float:
    """Block until a call fits in the last second's budget, and count it; returns the wait."""
    rate = configured_rate() if rate is None else rate
    if rate <= 0:
        return 0.0
    return _admit(bucket, rate)[0]


def _admit(bucket: str, rate: float, interval: int = 0) -> tuple[float, float]:
    """Wait until a call fits in the last second's budget and count it; with `interval` (µs
    between slots) also reserve the caller's next slot. Returns (seconds waited, seconds until
    that slot, negative when none was reserved)."""
    keys = [WINDOW_KEY.format(bucket)] + ([PACE_KEY.format(bucket)] if interval else [])
    limit, window = max(1, math.floor(rate)), int(1_000_000 * slack())
    script = redis().register_script(ADMIT)
    waited = 0.0
    while True:
        tag = f"-{os.getpid()}-{next(_serial)}"
        wait_us, next_us = script(keys=keys, args=[limit, window, tag, interval])
        if int(wait_us) == 0:
            return waited, int(next_us) / 1e6
        time.sleep(int(wait_us) / 1e6)
        waited += int(wait_us) / 1e6


class Pacer:
    """One sender's side of the limit, at one Redis call per message: the call admitted at
    the wire also reserves the sender's slot for its next message, which it then waits for
    before claiming that message (so it waits while nothing is claimed)."""

    def __init__(self, bucket: str, rate: float | None = None):
        self.bucket = bucket
        self.rate = configured_rate() if rate is None else rate
        self.slot: float | None = None  # time.monotonic() of the reserved next slot

    def wait_time(self) -> float:
        """Seconds until this sender's slot (reserving one first when it holds none)."""
        if self.rate <= 0:
            return 0.0
        if self.slot is None:
            return reserve(self.bucket, self.rate)  # the first message of a sender
        wait, self.slot = self.slot - time.monotonic(), None
        return max(0.0, wait)

    def admit(self) -> float:
        """Block until this call fits in the last second's budget, count it and reserve the
        next slot; returns the seconds waited."""
        if self.rate <= 0:
            return 0.0
        waited, until_next = _admit(self.bucket, self.rate, interval_us(self.rate))
        self.slot = time.monotonic() + until_next
        return waited


def acquire(bucket: str, rate: float | None = None) -> float:
    """pace() then admit(): for a caller with nothing to do between the two."""
    return pace(bucket, rate) + admit(bucket, rate)
