"""Drill: the database goes away for a few seconds while a worker delivers. The worker talks to
PostgreSQL through a TCP proxy the drill cuts (every connection dropped, new ones refused) —
the shared server itself is never stopped. The worker survives, nothing is lost or doubled."""

import os
import time
from datetime import timedelta

import pytest
from sqlalchemy.engine import make_url

from core.messaging import sweeper, tasks
from core.messaging.pipeline import CHUNK
from core.types import utcnow
from tests.drills.conftest import (
    CuttableProxy,
    outcome,
    report,
    settle_from_receipts,
    size,
    start_worker,
    statuses,
    stop_worker,
    wait_until,
)
from tests.messaging.delivery_support import bulk_appointments, make_broadcast

pytestmark = [
    pytest.mark.drill,
    pytest.mark.skipif(os.environ.get("TIDINGS_TEST_DB", "sqlite") == "sqlite",
                       reason="SQLite is a file in the worker's own process: there is no "
                              "database server to lose; run with TIDINGS_TEST_DB=postgresql"),
]
LEASE, SWEEP_EVERY, RATE, OUTAGE = 5, 3, 100, 4.0


def test_database_unavailable_during_delivery_worker_recovers_loses_nothing(
        app, auto_vonage, tmp_path, capsys):
    app.config.update(PROVIDER_RATE_PER_SECOND=RATE, DELIVERY_LEASE_SECONDS=LEASE)
    server = auto_vonage()
    total = size(1000)
    broadcast = make_broadcast(bulk_appointments(total))
    tasks.fan_out(broadcast.id)

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    proxy = CuttableProxy((url.host or "127.0.0.1", url.port or 5432))
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed at the end
    worker = start_worker(app, log=log, DATABASE_URL=proxied, PROVIDER_RATE_PER_SECOND=RATE,
                          DELIVERY_LEASE_SECONDS=LEASE)
    last = [0.0]

    def cron():
        if time.monotonic() - last[0] >= SWEEP_EVERY:
            sweeper.sweep()
            last[0] = time.monotonic()

    try:
        # Cut in the middle of a delivery job (not between two, when no connection is open).
        wait_until(lambda: sum(server.accepted.values()) >= CHUNK + CHUNK // 2, timeout=90)
        dropped = proxy.cut()
        before = sum(server.accepted.values())
        time.sleep(OUTAGE)
        during = sum(server.accepted.values()) - before
        proxy.restore()
        wait_until(lambda: not statuses(broadcast.id)["queued"], timeout=180, interval=0.5,
                   every=cron)
        survived = worker.poll() is None
    finally:
        stop_worker(worker)
        log.close()
        proxy.close()
    after = sum(server.accepted.values()) - before - during
    # Anything the outage caught between the provider's answer and its record waits in
    # "sending": the sweeper (after its lease) hands it to reconciliation, its receipt settles.
    swept = sweeper.sweep(utcnow() + timedelta(minutes=15))
    receipts = settle_from_receipts(app, server)
    sweeper.sweep(utcnow() + timedelta(hours=25))

    figures = outcome(server, [broadcast.id])
    with capsys.disabled():
        report("database unavailable 4 s during delivery", connections_dropped=dropped,
               connects_refused=proxy.refused, sent_during_outage=during,
               sent_after_outage=after, worker_survived=survived,
               reconciled_by_receipt=receipts, stuck_to_reconcile=swept["reconcile"], **figures)
    assert dropped >= 1 and survived and after > 0  # it really went away, and the worker came back
    assert figures["messages"] == total
    assert figures["queued"] == figures["reconcile"] == 0
    assert figures["duplicates"] == 0 and figures["lost"] == 0
    assert figures["sent"] + figures["delivered"] + figures["failed"] == total
