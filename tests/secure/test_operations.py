"""Secure sends end to end with a real worker: encryption at rest, tokens, expiry, purge."""

import hashlib
import hmac
import math
import re
from datetime import UTC, datetime, timedelta

from rq import Queue
from rq.job import Job

from core import settings
from core.audit.models import AuditEvent
from core.extensions import db
from core.messaging import attachments as files
from core.messaging.models import Broadcast, Message
from core.messaging.sweeper import sweep
from core.secure import lifecycle
from core.secure import operations as secure_ops
from core.secure import portal as portal_ops
from core.secure.models import SecureMessage
from core.simulator.models import SimMessage
from core.types import utcnow
from tests.compose.files import pdf
from tests.secure.conftest import SECRET_TEXT, token_in

FERNET = re.compile(r"gAAAAA[A-Za-z0-9_=-]{40,}")


def client_sees_gone(sent) -> bool:
    """Past expiry the link is dead even before the purge runs."""
    return not sent.secure.usable(utcnow())


def _raw_row(secure_id: int) -> dict:
    row = db.session.execute(db.text("select * from secure_messages where id = :id"),
                             {"id": secure_id}).mappings().one()
    return dict(row)


def _everything_stored() -> str:
    """Every text column of the tables a secure send writes, as one string."""
    parts = []
    for table in ("secure_messages", "broadcasts", "messages", "message_events", "audit_events"):
        for row in db.session.execute(db.text(f"select * from {table}")).all():
            parts.extend(str(v) for v in row)
    return "\n".join(parts)


def test_tokens_are_256_random_bits_and_only_their_hash_is_stored(send_secure):
    tokens = {secure_ops.new_token()[0] for _ in range(200)}
    assert len(tokens) == 200 and all(len(t) >= 43 for t in tokens)  # 32 bytes, base64
    sent = send_secure()
    raw = _raw_row(sent.secure.id)
    assert raw["token_hash"] == hashlib.sha256(sent.token.encode()).hexdigest()
    assert sent.token not in "\n".join(str(v) for v in raw.values())


def test_the_link_token_is_minted_at_send_time_and_stored_nowhere(client, send_secure,
                                                                  client_for):
    from core.auth.models import Role

    sent = send_secure(channel="email")
    assert sent.token not in _everything_stored()  # not in the outbox, events or audit
    notice = db.session.get(Message, sent.secure.message_id)
    assert "/s/" in notice.body and notice.status in ("sent", "delivered")
    page = client_for(Role.READ_ONLY).get(f"/messages/{notice.id}").get_data(as_text=True)
    assert sent.token not in page  # staff never see a working link
    assert client.get(sent.url).status_code == 200  # the client's copy opens


def test_content_is_encrypted_at_rest_and_never_in_the_notice(send_secure):
    sent = send_secure(channel="email")
    assert SECRET_TEXT not in _everything_stored()
    assert SECRET_TEXT not in sent.notice.body and "Your results" not in sent.notice.subject
    assert "secure message" in sent.notice.body.lower()
    assert portal_ops.read(sent.secure)["body"] == SECRET_TEXT


def test_each_recipient_of_a_broadcast_gets_their_own_link(secure_on, make_user,
                                                            make_appointment, run_worker):
    from core.messaging.compose import create_broadcast

    appointments = [make_appointment() for _ in range(3)]
    create_broadcast(actor=make_user(), channel="sms",
                     recipients={"appointment_ids": [a.id for a in appointments]},
                     body="Hi {{ first_name }}, private note.", secure={"pin": "1234"})
    run_worker(queues=["high", "default"])
    rows = db.session.scalars(db.select(SecureMessage).order_by(SecureMessage.id)).all()
    phones = db.session.scalars(db.select(SimMessage).where(SimMessage.incoming.is_(True))).all()
    assert len(rows) == 3 and len({r.token_hash for r in rows}) == 3
    assert [r.appointment_id for r in rows] == [a.id for a in appointments]
    tokens = {token_in(p.body) for p in phones}
    assert len(tokens) == 3
    assert {secure_ops.find(t).id for t in tokens} == {r.id for r in rows}
    first = appointments[0].client.first_name
    assert portal_ops.read(rows[0])["body"] == f"Hi {first}, private note."


def test_expiry_purges_by_the_job_scheduled_at_send_time(send_secure, run_worker, app):
    sent = send_secure(channel="email", attachments=[("scan.pdf", pdf())])
    scheduled = Queue("low", connection=app.extensions["redis"]).scheduled_job_registry
    [job_id] = scheduled.get_job_ids()  # the purge job, waiting for the expiry moment
    at = scheduled.get_scheduled_time(job_id).replace(tzinfo=UTC)
    assert at.timestamp() == math.ceil(sent.secure.expires_at.timestamp())
    run_worker(queues=["low"], with_scheduler=True)  # not due yet: nothing happens
    assert _raw_row(sent.secure.id)["content"] is not None
    # The expiry moment comes: the row is past its expiry and RQ's clock reaches the job.
    db.session.execute(db.update(SecureMessage).where(SecureMessage.id == sent.secure.id)
                       .values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    scheduled.schedule(Job.fetch(job_id, connection=app.extensions["redis"]),
                       datetime.now(UTC) - timedelta(seconds=1))
    assert client_sees_gone(sent)
    run_worker(queues=["low"], with_scheduler=True)
    raw = _raw_row(sent.secure.id)
    assert raw["content"] is None and raw["purged_at"] is not None and raw["pin_hash"] is None
    assert db.session.execute(db.text("select data from secure_files")).scalar() is None
    notice = db.session.get(Message, sent.secure.message_id)
    assert sent.token not in notice.body  # the dead link is gone from the outbox too
    assert "secure.purged" in set(db.session.scalars(db.select(AuditEvent.action)))


def _sealed_values() -> list[str]:
    """Every stored value that looks like a Fernet token, and what each decrypts to."""
    found = []
    for value in _everything_stored().split("\n") + [
            bytes(v).decode() for v in db.session.execute(
                db.text("select data from secure_files")).scalars() if v is not None]:
        for part in FERNET.findall(value):
            try:
                found.append(settings.decrypt(part))
            except Exception:  # noqa: BLE001  (not one of ours)
                continue
    return found


def test_after_the_purge_no_copy_of_the_content_remains_anywhere(send_secure):
    sent = send_secure(channel="email", attachments=[("scan.pdf", pdf())])
    assert any(SECRET_TEXT in clear for clear in _sealed_values())  # sealed while it lives
    lifecycle.purge_expired(utcnow() + timedelta(hours=73))
    assert not any(SECRET_TEXT in clear for clear in _sealed_values())
    assert db.session.execute(db.text("select data from secure_files")).scalar() is None
    assert SECRET_TEXT not in _everything_stored()
    raw = _raw_row(sent.secure.id)
    assert raw["token_hash"] and raw["expires_at"] and raw["purged_at"]  # metadata stays


def test_a_cancelled_secure_send_loses_its_sealed_content_at_the_next_sweep(
        secure_on, make_user, make_client):
    from core.messaging.compose import cancel_scheduled, create_broadcast

    staff = make_user()
    broadcast = create_broadcast(actor=staff, channel="email",
                                 recipients={"client_id": make_client().id}, subject="Results",
                                 body=SECRET_TEXT, send_at=utcnow() + timedelta(days=1),
                                 attachments=[files.Upload("scan.pdf", pdf())],
                                 secure={"pin": ""})
    sweep()
    assert any(SECRET_TEXT in clear for clear in _sealed_values())  # waiting to go: kept
    cancel_scheduled(broadcast.id, staff)
    sweep()
    assert not any(SECRET_TEXT in clear for clear in _sealed_values())
    assert db.session.execute(db.text("select data from secure_files")).scalar() is None


def test_the_sweeper_purges_what_redis_forgot(send_secure, app):
    sent = send_secure(channel="email", attachments=[("scan.pdf", pdf())])
    app.extensions["redis"].flushdb()  # the scheduled purge job is lost
    assert sweep().get("secure_purged", 0) == 0  # not expired yet: nothing to do
    done = sweep(now=utcnow() + timedelta(hours=73))
    assert done["secure_purged"] == 1
    raw = _raw_row(sent.secure.id)
    assert raw["content"] is None and raw["purged_at"] is not None
    assert db.session.execute(db.text("select data from secure_files")).scalar() is None
    assert raw["token_hash"] and raw["expires_at"]  # metadata stays


def test_revoke_kills_the_link_and_resend_sends_a_fresh_one(client, send_secure, make_user,
                                                            run_worker):
    sent = send_secure()
    staff = make_user()
    lifecycle.revoke(sent.secure.id, actor=staff)
    assert client.get(sent.url).status_code == 404
    lifecycle.resend(sent.secure.id, actor=staff)
    run_worker(queues=["high", "default"])

    newest = db.session.scalars(db.select(SimMessage).order_by(SimMessage.id.desc())).first()
    fresh = token_in(newest.body)
    assert fresh != sent.token
    assert client.get(sent.url).status_code == 404  # the old link stays dead
    assert client.get(f"/s/{fresh}").status_code == 200
    client.post(f"/s/{fresh}/reveal")
    assert SECRET_TEXT in client.get(f"/s/{fresh}/message").get_data(as_text=True)
    actions = [a for a in db.session.scalars(db.select(AuditEvent.action))
               if a.startswith("secure.")]
    assert "secure.revoked" in actions and "secure.resent" in actions


def test_resend_kills_the_old_link_before_the_new_notice_even_goes(client, send_secure,
                                                                   make_user):
    sent = send_secure()
    assert client.get(sent.url).status_code == 200
    lifecycle.resend(sent.secure.id, actor=make_user())  # no worker has run yet
    assert client.get(sent.url).status_code == 404


def test_unlock_gives_five_new_attempts(client, send_secure, make_user):
    sent = send_secure(pin="4821")
    client.post(f"{sent.url}/reveal")
    for _ in range(5):
        client.post(f"{sent.url}/pin", data={"pin": "0000"})
    assert client.get(sent.url).status_code == 404
    lifecycle.unlock(sent.secure.id, actor=make_user())
    client.post(f"{sent.url}/reveal")
    assert client.post(f"{sent.url}/pin", data={"pin": "4821"}).status_code == 303


def test_resend_of_purged_content_is_refused(send_secure, make_user):
    sent = send_secure()
    lifecycle.purge([sent.secure.id])
    try:
        lifecycle.resend(sent.secure.id, actor=make_user())
    except secure_ops.SecureError as exc:
        assert "purged" in str(exc)
    else:
        raise AssertionError("a purged message was resent")


def test_broadcast_keeps_no_clear_text(send_secure):
    send_secure()
    broadcast = db.session.scalars(db.select(Broadcast)).one()
    assert SECRET_TEXT not in broadcast.body and SECRET_TEXT not in str(broadcast.options)


def test_key_rotation_keeps_unpurged_content_readable(app, send_secure, runner):
    from cryptography.fernet import Fernet

    sent = send_secure(channel="email", attachments=[("scan.pdf", pdf())])
    before = _raw_row(sent.secure.id)["content"]
    new_key = Fernet.generate_key().decode()
    app.config["TIDINGS_ENCRYPTION_KEY"] = new_key
    result = runner.invoke(args=["secure", "rotate-key"])
    assert "Re-encrypted 2 secure item(s)" in result.output
    app.config["TIDINGS_ENCRYPTION_KEY"] = ""
    db.session.expire_all()
    after = _raw_row(sent.secure.id)["content"]
    assert after != before
    assert Fernet(new_key.encode()).decrypt(after.encode())  # the new key alone opens it
    app.config["TIDINGS_ENCRYPTION_KEY"] = new_key
    assert portal_ops.read(db.session.get(SecureMessage, sent.secure.id))["body"] == SECRET_TEXT


def test_pin_comparison_is_constant_time_and_behind_a_slow_salted_hash(send_secure,
                                                                         monkeypatch):
    sent = send_secure(pin="48213579")
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    for guess in ("48213578", "9", "48213579"):
        secure_ops.pin_matches(sent.secure.pin_hash, guess)
    # Each guess, near or far, ends in one constant-time comparison of two full-length hashes.
    assert len(compared) == 3 and len({len(a) for a, _ in compared}) == 1
    assert [real(a, b) for a, b in compared] == [False, False, True]
    method = sent.secure.pin_hash.split("$")[0]
    assert method.startswith("scrypt:")  # a key-derivation hash, not a fast digest
    # A token is looked up by its SHA-256, so a guess learns nothing from a partial match.
    assert secure_ops.find(sent.token[:-1] + "x") is None and secure_ops.find(sent.token)
