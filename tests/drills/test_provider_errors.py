"""Drill: the provider answers 5 % 429 and 5 % 500 at random — everything still goes, once."""

from collections import Counter

import pytest
from sqlalchemy import select

from core.messaging import tasks
from core.messaging.models import Message, MessageEvent
from tests.drills.conftest import report, size, statuses
from tests.messaging.delivery_support import bulk_appointments, make_broadcast, wait_for

pytestmark = pytest.mark.drill


def test_random_429_and_500_end_sent_without_duplicates(app, auto_vonage, run_worker, capsys):
    app.config.update(PROVIDER_RATE_PER_SECOND=0, DELIVERY_BACKOFF_SECONDS=(1, 1, 1, 1, 1, 1))
    server = auto_vonage(throttled=0.05, errors=0.05)
    total = size(300)
    broadcast = make_broadcast(bulk_appointments(total))
    tasks.fan_out(broadcast.id)

    wait_for(lambda: statuses(broadcast.id)["sent"] == total, timeout=120,
             step=lambda: run_worker(with_scheduler=True), interval=0.5)

    ids = set(app.extensions["sqlalchemy"].session.scalars(
        select(Message.id).where(Message.broadcast_id == broadcast.id)))
    accepted = Counter({int(ref): n for ref, n in server.accepted.items()})
    retries = Counter(app.extensions["sqlalchemy"].session.scalars(
        select(MessageEvent.message_id).where(MessageEvent.detail.like("Temporary failure%"))))
    counts = statuses(broadcast.id)
    duplicates = sum(n - 1 for n in accepted.values() if n > 1)
    lost = len(ids - set(accepted))
    with capsys.disabled():
        report("provider 5% 429 + 5% 500", messages=total, sent=counts["sent"],
               delivered=counts["delivered"], failed=counts["failed"], duplicates=duplicates,
               lost=lost, refused_429=server.refused[429], refused_500=server.refused[500],
               retry_events=sum(retries.values()))
    assert server.refused[429] > 0 and server.refused[500] > 0  # the faults really happened
    assert counts["failed"] == 0 and duplicates == 0 and lost == 0
    assert set(accepted) == ids
    # every refused request left a retry in its message's history
    assert sum(retries.values()) == server.refused[429] + server.refused[500]
