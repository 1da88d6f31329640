"""Drills on the webhooks, against gunicorn on loopback: replays in parallel store one record
each; a steady 200 inbound texts per second with a worker draining loses none."""

import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import func, select

from core import settings
from core.extensions import db
from core.jobs import QUEUES, queue
from core.messaging.inbound import is_processed
from core.messaging.models import Direction, Message, MessageEvent, Status
from core.providers.vonage_webhooks import sms_signature
from core.simulator.operations import signed, webhook_secret
from tests.drills.conftest import post, report, size, start_worker

pytestmark = pytest.mark.drill
SECRET = "signature-secret-for-drills-0123456789"
REPLAYS = 10


def _sign(params: dict) -> dict:
    signed_params = {k: str(v) for k, v in params.items()}
    signed_params.update(timestamp=str(int(time.time())), nonce=uuid.uuid4().hex[:12])
    signed_params["sig"] = sms_signature(signed_params, SECRET, "sha256").upper()
    return signed_params


def _inbound(n: int) -> dict:
    return signed({"msisdn": f"1202555{n % 10000:04d}", "to": "12025559999",
                   "messageId": f"IN{n:08d}-{uuid.uuid4().hex[:6]}", "text": f"Reply {n}",
                   "type": "text", "keyword": "REPLY",
                   "message-timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())},
                  webhook_secret())


def _receipt(provider_id: str) -> dict:
    return _sign({"msisdn": "12025550147", "to": "12025550100", "network-code": "310260",
                  "messageId": provider_id, "price": "0.00790000", "status": "delivered",
                  "scts": "2601150930", "err-code": "0", "api-key": "abcd1234",
                  "message-timestamp": "2026-01-15 09:30:12"})


def test_every_webhook_replayed_ten_times_in_parallel_is_stored_once(app, gunicorn, capsys):
    settings.set("vonage_api_key", "abcd1234")
    settings.set("vonage_api_secret", "api-secret-4f2a")
    settings.set("vonage_signature_secret", SECRET)
    settings.set("vonage_signature_method", "sha256")
    n = size(40)
    sent = [Message(direction=Direction.OUT, channel="sms", to_addr="+12025550147", body="Hi",
                    status=Status.SENT, provider="vonage", provider_id=f"DLR{i:010d}",
                    sent_at=datetime.now(UTC)) for i in range(n)]
    db.session.add_all(sent)
    db.session.commit()
    hooks = [(f"{gunicorn}/webhooks/vonage/sms/receipt", _receipt(m.provider_id)) for m in sent]
    hooks += [(f"{gunicorn}/webhooks/simulator/inbound", _inbound(i)) for i in range(n)]
    local = threading.local()

    def replay(hook):
        local.session = getattr(local, "session", None) or requests.Session()
        return post(local.session, *hook)

    with ThreadPoolExecutor(REPLAYS) as pool:  # the 10 copies of one webhook arrive together
        answers = [list(pool.map(replay, [hook] * REPLAYS)) for hook in hooks]

    db.session.expire_all()
    delivered = dict(db.session.execute(
        select(MessageEvent.message_id, func.count()).where(MessageEvent.status == "delivered")
        .group_by(MessageEvent.message_id)).all())
    inbound = db.session.scalar(select(func.count()).select_from(Message)
                                .where(Message.direction == Direction.IN))
    not_ok = sum(1 for copies in answers for status, _ in copies if status != 200)
    retried = sum(1 for copies in answers for _, tries in copies if tries > 1)
    with capsys.disabled():
        report("webhooks replayed 10x in parallel", receipts=n, inbound=n,
               posts=len(hooks) * REPLAYS, not_200=not_ok, retried=retried,
               delivered_records=sum(delivered.values()), inbound_records=inbound,
               duplicates=sum(c - 1 for c in delivered.values()) + max(0, inbound - n),
               lost=(n - len(delivered)) + max(0, n - inbound))
    assert not_ok == 0
    assert sorted(delivered) == sorted(m.id for m in sent) and set(delivered.values()) == {1}
    assert inbound == n


@pytest.mark.skipif(os.environ.get("TIDINGS_TEST_DB", "sqlite") == "sqlite",
                    reason="SQLite serialises writers: at 200/s gunicorn answers 'database is "
                           "locked' (see bench/README.md); run with TIDINGS_TEST_DB=postgresql")
@pytest.mark.skipif(not os.environ.get("DRILL_SECONDS"),
                    reason="a load test of several minutes on 2 shared cores: run by "
                           "`python -m bench drills` (DRILL_SECONDS=30), see bench/README.md")
def test_inbound_at_200_per_second_with_workers_draining_loses_none(app, gunicorn, capsys,
                                                                   tmp_path, run_worker):
    seconds = float(os.environ.get("DRILL_SECONDS", "5"))
    rate = 200
    # Two-way texting answers texts it does not understand: let those replies go unthrottled.
    app.config.update(PROVIDER_RATE_PER_SECOND=0)
    log = open(tmp_path / "worker.log", "w")  # noqa: SIM115 - closed with the worker
    worker = start_worker(app, log=log, PROVIDER_RATE_PER_SECOND=0)
    local = threading.local()
    results, lateness = [], []

    def one(params, due):
        local.session = getattr(local, "session", None) or requests.Session()
        lateness.append(time.monotonic() - due)
        results.append(post(local.session, f"{gunicorn}/webhooks/simulator/inbound", params))

    try:
        total = int(seconds * rate)
        hooks = [_inbound(n) for n in range(total)]  # signed here: threads have no app context
        start = time.monotonic()
        with ThreadPoolExecutor(32) as pool:
            for n in range(total):
                due = start + n / rate
                time.sleep(max(0.0, due - time.monotonic()))
                pool.submit(one, hooks[n], due)
        took = time.monotonic() - start
        backlog = sum(queue(q).count for q in QUEUES)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(queue(q).count for q in QUEUES):
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(30)
        log.close()
    drain_start = time.monotonic()
    run_worker()  # a second (burst) worker drains what the live one had not reached
    drained = time.monotonic() - drain_start

    db.session.expire_all()
    stored = db.session.scalar(select(func.count()).select_from(Message)
                               .where(Message.direction == Direction.IN))
    inbound_ids = db.session.scalars(select(Message.id).where(Message.direction == Direction.IN))
    unprocessed = sum(1 for i in inbound_ids if not is_processed(i))
    failed_jobs = sum(queue(q).failed_job_registry.count for q in QUEUES)
    accepted = sum(1 for status, _ in results if status == 200)
    with capsys.disabled():
        report(f"inbound load {rate}/s for {seconds:.0f} s", posted=total,
               offered_rate=f"{total / took:.0f}/s", accepted=accepted,
               retried=sum(1 for _, tries in results if tries > 1), stored=stored,
               max_send_lag=f"{max(lateness):.2f}s",
               backlog_after_load=backlog, burst_drain=f"{drained:.0f}s",
               unprocessed=unprocessed, failed_jobs=failed_jobs,
               left_queued=sum(queue(q).count for q in QUEUES),
               lost=total - stored, duplicates=max(0, stored - total))
    assert accepted == total
    assert stored == total
    assert failed_jobs == 0 and unprocessed == 0
