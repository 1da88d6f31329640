"""The System page: admins see queues, workers, failed and scheduled jobs and messages in
reconcile; they retry or delete failed jobs and settle messages in doubt (audited)."""

from datetime import timedelta

import pytest

from core.audit.models import AuditEvent
from core.auth.models import Role
from core.extensions import db
from core.jobs import queue
from core.messaging.compose import create_broadcast
from core.messaging.models import Message, MessageEvent
from core.messaging.tasks import fan_out


def explode():
    """A job that fails."""
    raise RuntimeError("the provider's SDK blew up")


@pytest.fixture
def failed_job(run_worker):
    """One job in the failed registry of the low queue."""
    job = queue("low").enqueue(explode)
    run_worker(queues=["low"])
    return job


@pytest.fixture
def in_doubt(make_client, make_user):
    """A message whose send was interrupted: waiting in reconcile."""
    broadcast = create_broadcast(actor=make_user(), channel="sms", subject="", body="Hello",
                                 recipients={"client_id": make_client().id})
    fan_out(broadcast.id)
    message = db.session.scalars(db.select(Message)).one()
    message.status, message.reason = "reconcile", "Outcome unknown"
    db.session.commit()
    return message


def test_only_admins_see_the_page_and_its_nav_link(client_for):
    admin = client_for(Role.ADMIN)
    html = admin.get("/system/").get_data(as_text=True)
    assert ">System</a>" in html
    for heading in ("Queues", "Workers", "Failed jobs", "Scheduled jobs", "Messages in reconcile"):
        assert heading in html
    assert 'id="no-workers"' in html  # none running in this test
    editor = client_for(Role.EDIT)
    assert editor.get("/system/").status_code == 403
    assert ">System</a>" not in editor.get("/clients/").get_data(as_text=True)


def test_queue_depth_and_scheduled_jobs_are_listed(admin_client):
    queue("default").enqueue("core.messaging.tasks.sweep")
    queue("high").enqueue_in(timedelta(hours=1), "core.messaging.tasks.sweep")
    html = admin_client.get("/system/").get_data(as_text=True)
    row = html.split('id="queue-default"', 1)[1].split("</tr>", 1)[0]
    assert "<td>1</td>" in row
    assert "core.messaging.tasks.sweep()" in html.split('id="scheduled-h"', 1)[1]


def test_a_failed_job_is_shown_with_its_error_and_can_be_retried(admin_client, failed_job):
    html = admin_client.get("/system/").get_data(as_text=True)
    assert f'id="failed-{failed_job.id}"' in html
    assert "RuntimeError: the provider&#39;s SDK blew up" in html
    assert 'name="csrf_token"' in html

    answer = admin_client.post(f"/system/jobs/{failed_job.id}/retry",
                               headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert "Queued again" in answer.get_data(as_text=True)
    assert failed_job.id in queue("low").job_ids
    assert f'id="failed-{failed_job.id}"' not in admin_client.get("/system/").get_data(
        as_text=True)


def test_a_failed_job_can_be_deleted(admin_client, failed_job):
    answer = admin_client.post(f"/system/jobs/{failed_job.id}/delete")
    assert answer.status_code == 303
    html = admin_client.get("/system/").get_data(as_text=True)
    assert "Deleted:" in html and f'id="failed-{failed_job.id}"' not in html
    again = admin_client.post(f"/system/jobs/{failed_job.id}/delete",
                              headers={"HX-Request": "true"})
    assert again.status_code == 422 and "no longer exists" in again.get_data(as_text=True)


def test_settling_a_message_in_reconcile_is_on_its_history_and_audit(admin_client, in_doubt):
    assert f'id="reconcile-{in_doubt.id}"' in admin_client.get("/system/").get_data(
        as_text=True)
    answer = admin_client.post(f"/system/messages/{in_doubt.id}/settle",
                               data={"outcome": "failed"}, headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert f'id="reconcile-{in_doubt.id}"' not in answer.get_data(as_text=True)
    db.session.expire_all()
    message = db.session.get(Message, in_doubt.id)
    assert message.status == "failed" and message.reason == "Marked failed by hand"
    event = db.session.scalars(db.select(MessageEvent).where(
        MessageEvent.message_id == message.id)).all()[-1]
    assert event.status == "failed" and "by hand" in event.detail
    audit = db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.message_id == message.id, AuditEvent.action == "message.failed")).one()
    assert audit.actor_id == admin_client.user.id and audit.client_id == message.client_id
    # Settled once: a second click changes nothing.
    again = admin_client.post(f"/system/messages/{in_doubt.id}/settle",
                              data={"outcome": "sent"}, headers={"HX-Request": "true"})
    assert again.status_code == 422
    assert db.session.get(Message, in_doubt.id).status == "failed"


def test_mark_sent(admin_client, in_doubt):
    admin_client.post(f"/system/messages/{in_doubt.id}/settle", data={"outcome": "sent"})
    db.session.expire_all()
    message = db.session.get(Message, in_doubt.id)
    assert message.status == "sent" and message.sent_at is not None


def test_actions_need_the_csrf_token(app, admin_client, in_doubt):
    app.config["WTF_CSRF_ENABLED"] = True
    answer = admin_client.post(f"/system/messages/{in_doubt.id}/settle",
                               data={"outcome": "sent"})
    assert answer.status_code == 400
    db.session.expire_all()
    assert db.session.get(Message, in_doubt.id).status == "reconcile"
