"""The shared rate limit: however many workers, no second ever sees more than N sends."""

import multiprocessing
import time

from core.jobs import queue, redis
from core.messaging import ratelimit, tasks
from core.messaging.pipeline import enqueue_delivery
from tests.messaging.delivery_support import (
    bulk_appointments,
    make_broadcast,
    message_ids,
    scripted_sends,
)

STAMPS = "test:rate:stamps"


def _busiest_second(stamps: list[float]) -> int:
    """The most events inside any window [t, t + 1 s)."""
    stamps = sorted(stamps)
    best, j = 0, 0
    for i, start in enumerate(stamps):
        while j < len(stamps) and stamps[j] < start + 1.0:
            j += 1
        best = max(best, j - i)
    return best


def _take(bucket: str, rate: float, count: int) -> None:
    """A competing process: take `count` slots and stamp the moment each was usable."""
    for _ in range(count):
        ratelimit.acquire(bucket, rate)
        redis().rpush(STAMPS, repr(time.time()))


def _processes(target, args, n):
    procs = [multiprocessing.get_context("fork").Process(target=target, args=args)
             for _ in range(n)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert all(proc.exitcode == 0 for proc in procs)


def test_competing_processes_never_exceed_the_rate_in_any_second(app):
    started = time.time()
    _processes(_take, ("test-bucket", 20, 15), 4)  # 60 sends at 20 per second

    stamps = [float(s) for s in redis().lrange(STAMPS, 0, -1)]
    assert len(stamps) == 60
    assert _busiest_second(stamps) <= 20
    elapsed = max(stamps) - started
    assert 59 / 20 <= elapsed < 60 / 20 * ratelimit.SLACK + 2  # the full rate, not a trickle


def _pace(bucket: str, rate: float, count: int) -> None:
    """A competing sender as delivery runs one: wait for its slot, then be admitted at the
    wire (which also reserves its next slot), stamping the moment each call was let go."""
    pacer = ratelimit.Pacer(bucket, rate)
    for _ in range(count):
        time.sleep(pacer.wait_time())
        pacer.admit()
        redis().rpush(STAMPS, repr(time.time()))


def test_senders_pacing_with_one_call_per_message_keep_the_rate(app):
    started = time.time()
    _processes(_pace, ("pacer-bucket", 20, 15), 4)  # 60 sends at 20 per second

    stamps = [float(s) for s in redis().lrange(STAMPS, 0, -1)]
    assert len(stamps) == 60
    assert _busiest_second(stamps) <= 20
    elapsed = max(stamps) - started
    assert 59 / 20 <= elapsed < 60 / 20 * ratelimit.SLACK + 2  # the full rate, not a trickle


def test_a_pacer_reserves_its_next_slot_when_admitted(app):
    pacer = ratelimit.Pacer("next-slot", 5)
    assert pacer.wait_time() == 0  # the first call: its slot is now
    pacer.admit()
    assert 0.15 < pacer.wait_time() <= 0.2 * ratelimit.SLACK + 0.01  # 1/5 s and the slack
    assert ratelimit.Pacer("free-pacer", 0).wait_time() == 0 and \
        ratelimit.Pacer("free-pacer", 0).admit() == 0


def test_the_rate_comes_from_the_config_and_zero_means_no_limit(app):
    app.config["PROVIDER_RATE_PER_SECOND"] = 0
    started = time.monotonic()
    for _ in range(50):
        ratelimit.acquire("free")
    unlimited = time.monotonic() - started

    app.config["PROVIDER_RATE_PER_SECOND"] = 5
    waits = [ratelimit.acquire("slow") for _ in range(3)]

    assert unlimited < 1
    top = 0.2 * ratelimit.SLACK + 0.01
    assert waits[0] == 0 and 0.15 < waits[1] <= top and 0.15 < waits[2] <= top


def test_delivery_by_several_workers_keeps_to_the_provider_rate(app, scripted):
    app.config["PROVIDER_RATE_PER_SECOND"] = 10
    broadcast = make_broadcast(bulk_appointments(30))
    tasks.fan_out(broadcast.id)
    ids = message_ids(broadcast.id)
    queue("default").empty()  # two jobs instead of one, so that two workers compete
    enqueue_delivery(ids[:15])
    enqueue_delivery(ids[15:])
    _processes(_work, (app,), 2)

    stamps = [s["t"] for s in scripted_sends()]
    assert len(stamps) == 30
    assert _busiest_second(stamps) <= 10
    assert max(stamps) - min(stamps) >= 2.0  # 30 sends at 10 per second span 3 windows


def _work(app):
    from worker import forget_inherited_sessions, make_worker

    forget_inherited_sessions()
    make_worker(app).work(burst=True)
