"""Drill: the account limit is a promise to the provider. Ten mass sends in a row, each drained
by three `worker.py` processes through the fake Vonage (real SDK, TLS, 50 ms per answer) at a
30/s limit: in every run, no 1-second window at the fake holds more than 30 calls, and every
message goes once. How close each run came to the limit is printed (a figure, not a test)."""

import os

import pytest

from bench.fake import max_per_second
from core.messaging import tasks
from tests.drills.conftest import (
    outcome,
    report,
    size,
    start_worker,
    stop_worker,
    wait_until,
)
from tests.messaging.delivery_support import bulk_appointments, make_broadcast

pytestmark = pytest.mark.drill

LIMIT = 30
RUNS = int(os.environ.get("DRILL_PACING_RUNS", "10"))
WORKERS = 3


def test_the_busiest_second_at_the_provider_never_exceeds_the_limit(app, auto_vonage, tmp_path,
                                                                    capsys):
    app.config.update(PROVIDER_RATE_PER_SECOND=LIMIT)
    server = auto_vonage(delay=0.05)
    per_run = size(3 * LIMIT)  # about 3 seconds at the limit
    log = open(tmp_path / "workers.log", "w")  # noqa: SIM115 - closed at the end
    workers = [start_worker(app, log=log, PROVIDER_RATE_PER_SECOND=LIMIT)
               for _ in range(WORKERS)]
    peaks, rates, broadcasts = [], [], []
    try:
        for _ in range(RUNS):
            first = len(server.arrivals)
            broadcast = make_broadcast(bulk_appointments(per_run))
            broadcasts.append(broadcast.id)
            tasks.fan_out(broadcast.id)
            wait_until(lambda b=broadcast.id, f=first: len(server.arrivals) - f >= per_run,
                       timeout=120, interval=0.2)
            arrivals = sorted(server.arrivals[first:])
            peaks.append(max_per_second(arrivals))
            rates.append((len(arrivals) - 1) / (arrivals[-1] - arrivals[0]))
    finally:
        for worker in workers:
            stop_worker(worker)
        log.close()
    figures = outcome(server, broadcasts)
    with capsys.disabled():
        report(f"pacing at {LIMIT}/s, {RUNS} runs of {per_run}", busiest_seconds=peaks,
               mean_rates=[round(r, 1) for r in rates], duplicates=figures["duplicates"],
               lost=figures["lost"])
    assert max(peaks) <= LIMIT, peaks
    assert figures["duplicates"] == 0
