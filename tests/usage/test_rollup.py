"""The usage rollup (database triggers on messages) against hand counts and against a recount of
the messages: ORM and bulk (COPY) inserts, status and price updates, deletes, compaction."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, update

from core import bulk
from core.auth.models import Role
from core.extensions import db
from core.messaging.models import Direction, Message, Status
from core.usage.figures import WENT, figures
from core.usage.models import UsageRollup
from core.usage.rollup import compact
from tests.mailbox.conftest import BASE  # 2024-05-01 14:00 UTC, 10:00 in New York

DAY2 = BASE + timedelta(days=1, hours=3)
TZ = "America/New_York"


def _bulk(n: int, **values) -> list[int]:
    """Insert n outgoing texts the way the fan-out does (COPY on PostgreSQL)."""
    row = {"direction": "out", "channel": "sms", "to_addr": "+12025550100", "body": "Hi",
           "status": "queued", "created_at": DAY2, **values}
    table = Message.__table__
    names = list(row)
    prepared = bulk.prepare(table, names, [tuple(bulk.bound(table, k, row[k]) for k in names)
                                           for _ in range(n)], with_ids=True)
    ids = bulk.insert_prepared(prepared)
    db.session.commit()
    return ids or list(db.session.scalars(select(Message.id).order_by(Message.id.desc())
                                          .limit(n)))


def _summary():
    f = figures(BASE.date(), BASE.date() + timedelta(days=2), TZ)
    return (f.groups, (f.sent, f.delivered, f.failed, f.opted_out),
            [(d["sent"], d["delivered"], d["failed"], d["replies"]) for d in f.days])


def test_rollup_follows_inserts_updates_prices_and_deletes(app, make_message):
    make_message(status=Status.DELIVERED, cost=Decimal("0.0079"))
    make_message(status=Status.FAILED, category="marketing")
    make_message(direction=Direction.IN, category="direct", cost=Decimal("0.0075"))
    gone = make_message(status=Status.SENT, created_at=DAY2)
    ids = _bulk(5)
    db.session.execute(update(Message).where(Message.id.in_(ids[:2])).values(
        status=Status.DELIVERED, cost=Decimal("0.0100")))
    db.session.execute(update(Message).where(Message.id == ids[2]).values(
        status=Status.SKIPPED, reason="Opted out"))
    db.session.execute(update(Message).where(Message.id == ids[3]).values(status=Status.EXPIRED))
    db.session.commit()
    message = db.session.get(Message, ids[0])
    message.cost = Decimal("0.0200")  # the receipt's actual price replaces the estimate
    db.session.commit()
    db.session.execute(delete(Message).where(Message.id == gone.id))
    db.session.commit()

    # By hand: day 1 has 2 texts out (1 delivered, 1 failed) and 1 in; day 2 the 5 bulk texts:
    # 2 delivered (0.0200 + 0.0100), 1 skipped for opt-out, 1 expired, 1 still queued.
    expected = [
        [("out", "sms", "marketing", 1, None),
         ("out", "sms", "transactional", 6, Decimal("0.0379")),
         ("in", "sms", "direct", 1, Decimal("0.0075"))],
        (5, 3, 2, 1),
        [(2, 1, 1, 1), (3, 2, 1, 0), (0, 0, 0, 0)],
    ]
    assert _summary() == tuple(expected)
    compact()
    assert _summary() == tuple(expected)
    grains = db.session.execute(select(UsageRollup.grain, UsageRollup.compacted, func.count())
                                .group_by(UsageRollup.grain, UsageRollup.compacted)).all()
    # 2024's days are long past: one compacted row per local day and key, no hour rows left.
    assert grains == [("day", True, 4)]  # day 1: three keys; day 2: one
    late = db.session.get(Message, ids[4])
    late.status = Status.DELIVERED  # a receipt for an old message: an hour row again
    db.session.commit()
    compact()
    expected[1] = (6, 4, 2, 1)
    expected[2][1] = (4, 3, 1, 0)
    assert _summary() == tuple(expected)


def _recount() -> Counter:
    """The rollup's measures worked out from the messages themselves."""
    counts: Counter = Counter()
    for m in db.session.scalars(select(Message)):
        key = (m.created_at.replace(minute=0, second=0, microsecond=0), m.direction,
               m.channel, m.category)
        out = m.direction == Direction.OUT
        counts[key + ("messages",)] += 1
        counts[key + ("cost",)] += m.cost or 0
        counts[key + ("sent",)] += out and m.status in WENT
        counts[key + ("delivered",)] += out and m.status == Status.DELIVERED
        counts[key + ("failed",)] += out and m.status in (Status.FAILED, Status.EXPIRED)
    return +counts


def _rolled() -> Counter:
    counts: Counter = Counter()
    for r in db.session.scalars(select(UsageRollup)):
        key = (r.hour, r.direction, r.channel, r.category)
        for name in ("messages", "cost", "sent", "delivered", "failed"):
            counts[key + (name,)] += getattr(r, name)
    return +counts


@pytest.mark.parametrize("compacting", [False, True])
def test_rollup_equals_a_recount_after_real_sends(app, client_for, make_client, run_worker,
                                                  compacting):
    editor = client_for(Role.EDIT)
    people = [make_client() for _ in range(3)]
    for person in people:
        data = {"recipients": "person", "channel": "sms", "body": "Hi", "when": "now",
                "client_id": person.id}
        assert editor.post("/compose/", data=data).status_code == 303
    run_worker()
    if compacting:
        compact()
    db.session.expire_all()
    recount = _recount()
    assert recount[next(k for k in recount if k[-1] == "messages")] >= 1
    assert _rolled() == recount
