"""The fake Vonage of tests/fake_vonage.py answering every SMS by itself, for load.

Every request gets a fresh message id; optional latency and a share of 429 / 500 answers
(seeded, so a run is repeatable). Arrival times are kept to check the rate limit.
"""

import itertools
import random
import threading
import time
from collections import Counter
from contextlib import contextmanager

import trustme

from tests.fake_vonage import SMS_PATH, FakeVonage, Reply, sms_ok


class AutoVonage(FakeVonage):
    """Answers SMS sends on its own: success, or a scripted share of 429 and 500."""

    def __init__(self, ca, delay: float = 0.0, throttled: float = 0.0, errors: float = 0.0,
                 seed: int = 6):
        super().__init__(ca)
        self.delay, self.throttled, self.errors = delay, throttled, errors
        self.random = random.Random(seed)
        self.serial = itertools.count(1)
        self.arrivals: list[float] = []
        self.accepted: Counter = Counter()  # client-ref -> times answered "sent"
        self.issued: dict[str, str] = {}  # client-ref -> the message id last answered
        self.refused = Counter()  # status -> how many
        self._local = threading.local()

    def record(self, seen) -> None:
        with self._lock:
            self.arrivals.append(time.time())
            self.requests.append(seen)
        self._local.ref = seen.form.get("client-ref", "") if seen.path == SMS_PATH else ""

    def next_reply(self, path: str) -> Reply:
        if path != SMS_PATH:
            return super().next_reply(path)
        with self._lock:
            roll = self.random.random()
            ref = getattr(self._local, "ref", "")
            if roll < self.throttled:
                self.refused[429] += 1
                return Reply(429, {"title": "Too Many Requests"}, {"Retry-After": "1"})
            if roll < self.throttled + self.errors:
                self.refused[500] += 1
                return Reply(500, {"title": "Internal Server Error"})
            self.accepted[ref] += 1
            n = next(self.serial)
            self.issued[ref] = f"BENCH{n:012d}"
        return Reply(body=sms_ok((f"BENCH{n:012d}", "0.00790"), client_ref=ref).body,
                     delay=self.delay)


def ca_bundle(tmpdir: str) -> tuple[trustme.CA, str]:
    """A throwaway CA and the path of its PEM (for REQUESTS_CA_BUNDLE)."""
    ca = trustme.CA()
    path = f"{tmpdir}/fake-vonage-ca.pem"
    ca.cert_pem.write_to_path(path)
    return ca, path


@contextmanager
def running(ca, **options):
    """An AutoVonage serving on a free port for the duration of the block."""
    server = AutoVonage(ca, **options).start()
    try:
        yield server
    finally:
        server.stop()


def vonage_env(server: AutoVonage, ca_path: str) -> dict:
    """Environment that points the Vonage provider (real SDK) at the fake."""
    return {"VONAGE_API_KEY": "abcd1234", "VONAGE_API_SECRET": "api-secret-4f2a",
            "VONAGE_FROM": "+15550009999", "VONAGE_REST_HOST": server.host,
            "VONAGE_API_HOST": server.host, "DELIVERY_MODE": "live",
            "REQUESTS_CA_BUNDLE": ca_path, "CURL_CA_BUNDLE": ""}


def max_per_second(arrivals: list[float]) -> int:
    """The most requests in any 1-second window (sliding, starting at each arrival)."""
    times, best, j = sorted(arrivals), 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + 1.0:
            j += 1
        best = max(best, j - i)
    return best
