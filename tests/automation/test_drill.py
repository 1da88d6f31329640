"""Drill: kill -9 the worker while a rule's run is planning, fanning out or sending; restart
it and let the sweeper and the next runs go: each appointment gets its reminder exactly once."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.automation.models import AutomationSend
from core.extensions import db
from core.jobs import queue
from core.messaging import sweeper
from core.messaging.models import Broadcast, Message
from core.types import utcnow
from tests.drills.conftest import (
    kill_worker,
    report,
    size,
    start_worker,
    statuses,
    stop_worker,
    wait_until,
)
from tests.messaging.delivery_support import bulk_appointments

pytestmark = pytest.mark.drill


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


STAGES = {"planned": lambda total: _count(AutomationSend) > 0,
          "fanned-out": lambda total: _count(Message) >= total // 4}


@pytest.mark.parametrize("stage", STAGES)
def test_worker_killed_during_a_rule_run_sends_each_reminder_once(app, make_rule, tmp_path,
                                                                 capsys, stage):
    total = size(2000)
    make_rule(timing="hours_before", amount=48)
    bulk_appointments(total)
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed at the end
    worker = start_worker(app, log=log, PROVIDER_RATE_PER_SECOND=0)
    try:
        queue("default").enqueue("core.automation.tasks.run_rules")
        wait_until(lambda: STAGES[stage](total), timeout=120, interval=0.02)
    finally:
        killed = kill_worker(worker)
    at_kill = {"keys_at_kill": _count(AutomationSend), "messages_at_kill": _count(Message),
               "sent_at_kill": _count(Message, Message.status == "sent")}

    for minutes in (15, 16):  # the sweeper re-arms; the periodic job runs again, twice
        sweeper.sweep(utcnow() + timedelta(minutes=minutes))
        queue("default").enqueue("core.automation.tasks.run_rules")
    worker = start_worker(app, log=log, PROVIDER_RATE_PER_SECOND=0)
    try:
        wait_until(lambda: _count(Message, Message.status.in_(["queued", "sending"])) == 0
                   and _count(Message) == total, timeout=300, interval=0.5)
    finally:
        stop_worker(worker)
        log.close()

    per_appointment = db.session.execute(
        select(Message.appointment_id, func.count()).group_by(Message.appointment_id)
        .having(func.count() > 1)).all()
    counts = statuses()
    with capsys.disabled():
        report(f"worker killed -9 during a rule run ({stage})", processes_killed=killed, **at_kill,
               messages=_count(Message), duplicates=len(per_appointment), **counts)
    assert per_appointment == []
    assert _count(AutomationSend) == total
    assert _count(Broadcast) == 1
    # Each reminder went out once: sent, or already delivered (the simulator schedules a receipt
    # a second after each send; it runs once the restarted worker's scheduler has taken over the
    # killed one's lock, which a slow run reaches), failed for good, or waiting on the
    # reconciler; none skipped. The assertion names the status and reason of any other.
    others = db.session.execute(
        select(Message.status, Message.reason, func.count())
        .where(Message.status.not_in(["sent", "delivered"]))
        .group_by(Message.status, Message.reason)).all()
    assert counts["sent"] + counts["delivered"] + counts["failed"] + counts["reconcile"] == total, \
        others
