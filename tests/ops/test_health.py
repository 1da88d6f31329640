"""/healthz, /readyz and /metrics: what an operator's monitoring sees."""

import re
import time

import pytest

from core.messaging.compose import create_broadcast
from core.messaging.tasks import fan_out
from core.ops import health
from core.ops.metrics import RECORDER


def test_healthz_answers_without_touching_anything(client, query_counter):
    with query_counter() as statements:
        answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.get_data(as_text=True) == "ok\n"
    assert statements == []


def test_readyz_is_not_ready_without_a_worker_or_a_sweep(client):
    answer = client.get("/readyz")
    assert answer.status_code == 503
    checks = answer.get_json()["checks"]
    assert checks["database"]["ok"] and checks["redis"]["ok"]
    assert not checks["workers"]["ok"] and "no worker" in checks["workers"]["detail"]
    assert not checks["sweeper"]["ok"]


def test_readyz_is_ready_with_a_live_worker_and_a_recent_sweep(app, client):
    from core.messaging.sweeper import sweep
    from worker import make_worker

    sweep()  # records its run
    worker = make_worker(app, ["default"])
    worker.register_birth()  # a worker that has just sent its heartbeat
    try:
        answer = client.get("/readyz")
    finally:
        worker.register_death()
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["status"] == "ready"


def test_readyz_says_when_the_sweeper_stopped(app, client):
    app.extensions["redis"].set(health.SWEEPER_KEY, time.time() - 600)
    check = client.get("/readyz").get_json()["checks"]["sweeper"]
    assert not check["ok"] and "600 s ago" in check["detail"]


@pytest.mark.parametrize("config, headers, addr, status", [
    ({}, {}, "127.0.0.1", 404),  # nothing configured: off, even from loopback
    ({"METRICS_TOKEN": "s3cret-token"}, {"Authorization": "Bearer s3cret-token"}, "10.1.1.1",
     200),
    ({"METRICS_TOKEN": "s3cret-token"}, {"Authorization": "Bearer wrong"}, "127.0.0.1", 401),
    ({"METRICS_TOKEN": "s3cret-token"}, {}, "127.0.0.1", 401),
    ({"METRICS_ALLOW": "10.0.0.0/8, 192.168.1.5"}, {}, "10.9.8.7", 200),
    ({"METRICS_ALLOW": "10.0.0.0/8, 192.168.1.5"}, {}, "192.168.1.6", 403),
    ({"METRICS_TOKEN": "t", "METRICS_ALLOW": "10.0.0.0/8"}, {"Authorization": "Bearer t"},
     "172.16.0.1", 403),  # both configured: both must pass
])
def test_metrics_needs_the_token_and_or_an_allowed_address(app, client, config, headers, addr,
                                                            status):
    app.config.update({"METRICS_TOKEN": "", "METRICS_ALLOW": "", **config})
    answer = client.get("/metrics", headers=headers, environ_base={"REMOTE_ADDR": addr})
    assert answer.status_code == status


def test_metrics_reports_messages_queues_latency_errors_and_waits(app, client, make_client,
                                                                  make_user):
    app.config.update(METRICS_TOKEN="tok")
    broadcast = create_broadcast(actor=make_user(), channel="sms", subject="", body="Hello",
                                 recipients={"client_id": make_client().id})
    fan_out(broadcast.id)  # one queued message; its jobs wait in Redis
    RECORDER.latency("queued_to_sent", 0.4)
    RECORDER.latency("sent_to_delivered", 20)
    RECORDER.provider_error("vonage", "permanent", "29")
    RECORDER.rate_wait("vonage", 0.25)
    RECORDER.flush()

    text = client.get("/metrics", headers={"Authorization": "Bearer tok"}).get_data(
        as_text=True)
    assert 'tidings_messages{channel="sms",direction="out",status="queued"} 1.0' in text
    waiting = re.search(r'tidings_queue_jobs\{queue="default",state="queued"\} (\S+)', text)
    assert float(waiting.group(1)) >= 1
    assert 'tidings_delivery_latency_seconds_bucket{le="1",stage="queued_to_sent"} 1.0' in text
    assert 'tidings_delivery_latency_seconds_bucket{le="15",stage="sent_to_delivered"} 0.0' \
        in text
    assert 'tidings_delivery_latency_seconds_count{stage="sent_to_delivered"} 1.0' in text
    assert 'tidings_provider_errors_total{code="29",kind="permanent",provider="vonage"} 1.0' \
        in text
    assert 'tidings_rate_limiter_waits_total{provider="vonage"} 1.0' in text
    assert "tidings_inbound_backlog 0.0" in text
    assert "tidings_workers 0.0" in text
    assert "tidings_http_requests_total" in text
