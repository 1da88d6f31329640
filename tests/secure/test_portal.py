"""The public portal: reveal, PIN brute force, dead links, headers, download, one reply."""

import secrets

import pytest

from core.audit.models import AuditEvent
from core.extensions import db
from core.messaging.models import Direction, Message
from core.secure import lifecycle
from core.secure.models import SecureMessage
from core.types import utcnow
from tests.compose.files import pdf
from tests.secure.conftest import SECRET_TEXT

PORTAL_HEADERS = {
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
}


def _check_headers(response):
    for name, value in PORTAL_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.path, name)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp


def _open(client, sent, pin=None):
    """Walk the portal as the client: open, reveal, PIN when asked."""
    assert client.get(sent.url).status_code == 200
    response = client.post(f"{sent.url}/reveal")
    if pin is not None:
        assert "Enter your PIN" in response.get_data(as_text=True)
        response = client.post(f"{sent.url}/pin", data={"pin": pin})
    return response


def test_link_preview_bots_do_not_see_or_count_as_a_view(client, send_secure):
    sent = send_secure()
    page = client.get(sent.url).get_data(as_text=True)
    assert "Tap to reveal" in page and SECRET_TEXT not in page
    db.session.refresh(sent.secure)
    assert sent.secure.opened_at is not None and sent.secure.revealed_at is None
    assert sent.secure.read_at is None
    # Skipping the reveal step does not show the message.
    assert client.get(f"{sent.url}/message").status_code == 303


def test_reveal_without_pin_shows_the_message_and_audits_the_view(client, send_secure):
    sent = send_secure()
    response = _open(client, sent)
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert SECRET_TEXT in page
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"secure.revealed", "secure.viewed"} <= actions


def test_wrong_pin_is_neutral_and_counts_down(client, send_secure):
    sent = send_secure(pin="4821")
    response = _open(client, sent, pin="1111")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "did not open the message. 4 attempts left." in page
    assert SECRET_TEXT not in page


def test_five_wrong_pins_lock_the_link_and_the_right_pin_is_then_refused(client, send_secure):
    sent = send_secure(pin="4821")
    _open(client, sent)
    for _ in range(5):
        response = client.post(f"{sent.url}/pin", data={"pin": "0000"})
    assert "can no longer be opened" in response.get_data(as_text=True)
    response = client.post(f"{sent.url}/pin", data={"pin": "4821"})  # the 6th, right PIN
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and SECRET_TEXT not in page
    assert "can no longer be opened" in page
    row = db.session.get(SecureMessage, sent.secure.id)
    db.session.refresh(row)
    assert row.locked_at is not None and row.pin_failures == 5
    # A fresh browser with the right PIN is refused too.
    assert client.application.test_client().get(sent.url).status_code == 404


def test_right_pin_opens_and_the_pin_is_stored_only_as_a_salted_hash(client, send_secure):
    sent = send_secure(pin="4821")
    response = _open(client, sent, pin="4821")
    assert response.status_code == 303
    assert SECRET_TEXT in client.get(f"{sent.url}/message").get_data(as_text=True)
    row = sent.secure
    assert row.pin_hash.startswith("scrypt:") and "4821" not in row.pin_hash
    other = send_secure(pin="4821")
    assert other.secure.pin_hash != row.pin_hash  # salted


def test_pin_is_needed_again_in_another_browser(app, client, send_secure):
    sent = send_secure(pin="4821")
    _open(client, sent, pin="4821")
    stranger = app.test_client()
    assert stranger.get(f"{sent.url}/message").status_code == 303
    assert SECRET_TEXT not in stranger.get(f"{sent.url}/message",
                                           follow_redirects=True).get_data(as_text=True)


def _gone_text(response, token):
    return response.get_data(as_text=True).replace(token, "TOKEN")


def test_unknown_expired_locked_revoked_and_purged_links_look_the_same(client, send_secure):
    guessed = secrets.token_urlsafe(32)
    unknown = client.get(f"/s/{guessed}")
    expired, locked, revoked, purged = send_secure(), send_secure(), send_secure(), send_secure()
    lifecycle.purge([purged.secure.id])
    db.session.execute(db.update(SecureMessage).where(SecureMessage.id == expired.secure.id)
                       .values(expires_at=utcnow()))
    db.session.execute(db.update(SecureMessage).where(SecureMessage.id == locked.secure.id)
                       .values(locked_at=utcnow()))
    db.session.execute(db.update(SecureMessage).where(SecureMessage.id == revoked.secure.id)
                       .values(revoked_at=utcnow()))
    db.session.commit()
    pages = {_gone_text(unknown, guessed)}
    for sent in (expired, locked, revoked, purged):
        for response in (client.get(sent.url), client.post(f"{sent.url}/reveal"),
                         client.post(f"{sent.url}/pin", data={"pin": "1234"})):
            assert response.status_code == unknown.status_code == 404
            pages.add(_gone_text(response, sent.token))
    assert len(pages) == 1
    page = pages.pop()
    assert "can no longer be opened" in page and "Request a new link" in page


@pytest.mark.parametrize("guess", ["x", "a" * 43, "../../etc", "A" * 300])
def test_guessed_or_malformed_tokens_open_nothing(client, send_secure, guess):
    sent = send_secure()
    for path in (f"/s/{guess}", f"/s/{guess}/message", f"/s/{guess}/file/1"):
        response = client.get(path)
        assert response.status_code == 404
        assert SECRET_TEXT not in response.get_data(as_text=True)
    # A replayed token with one character changed is just another guess.
    twisted = sent.token[:-1] + ("A" if sent.token[-1] != "A" else "B")
    assert client.get(f"/s/{twisted}").status_code == 404


def test_every_portal_response_carries_the_privacy_headers(client, send_secure):
    sent = send_secure(pin="4821", channel="email", attachments=[("scan.pdf", pdf())])
    file_id = db.session.execute(db.text("select id from secure_files")).scalar()
    responses = [
        client.get(sent.url),
        client.post(f"{sent.url}/reveal"),
        client.post(f"{sent.url}/pin", data={"pin": "0000"}),
        client.post(f"{sent.url}/pin", data={"pin": "4821"}),
        client.get(f"{sent.url}/message"),
        client.get(f"{sent.url}/file/{file_id}"),
        client.post(f"{sent.url}/reply", data={"body": ""}),
        client.post(f"{sent.url}/reply", data={"body": "Thanks"}),
        client.get(f"/s/{secrets.token_urlsafe(32)}"),
        client.post(f"/s/{secrets.token_urlsafe(32)}/request"),
        client.get("/s/no/such/route/here"),
    ]
    for response in responses:
        _check_headers(response)


def test_attachment_downloads_only_after_the_pin(app, client, send_secure):
    data = pdf(500)
    sent = send_secure(pin="4821", channel="email", attachments=[("scan.pdf", data)])
    file_id = db.session.execute(db.text("select id from secure_files")).scalar()
    stored = db.session.execute(db.text("select data from secure_files")).scalar()
    assert b"%PDF" not in bytes(stored)  # encrypted at rest
    assert client.get(f"{sent.url}/file/{file_id}").status_code == 404
    _open(client, sent)  # revealed, PIN not yet typed
    assert client.get(f"{sent.url}/file/{file_id}").status_code == 404
    client.post(f"{sent.url}/pin", data={"pin": "4821"})
    page = client.get(f"{sent.url}/message").get_data(as_text=True)
    assert "scan.pdf" in page
    response = client.get(f"{sent.url}/file/{file_id}")
    assert response.status_code == 200 and response.data == data
    assert response.headers["Content-Disposition"].startswith("attachment;")
    # The notice email itself carried neither the text nor the file.
    assert SECRET_TEXT not in sent.notice.body and not sent.notice.media


def test_a_secure_text_keeps_its_files_in_the_portal(app, client, send_secure):
    data = pdf(800)
    sent = send_secure(pin="1357", channel="sms", attachments=[("referral.pdf", data)])
    file_id = db.session.execute(db.text("select id from secure_files")).scalar()
    assert client.get(f"{sent.url}/file/{file_id}").status_code == 404  # not before the PIN

    _open(client, sent, pin="1357")
    assert "referral.pdf" in client.get(f"{sent.url}/message").get_data(as_text=True)
    response = client.get(f"{sent.url}/file/{file_id}")
    assert response.status_code == 200 and response.data == data
    # The text message was a plain SMS with the link: no picture, no text, no file.
    assert SECRET_TEXT not in sent.notice.body and not sent.notice.media
    assert db.session.scalar(db.select(Message.channel).where(
        Message.direction == Direction.OUT)) == "sms"


def test_a_secure_text_longer_than_one_sms_may_go_and_is_read_whole(client, send_secure):
    long_text = "Your results are in. " + "All values are within the normal range. " * 60
    assert len(long_text) > 1600  # refused as a plain text (tests/compose)
    sent = send_secure(channel="sms", body=long_text)

    _open(client, sent)
    page = client.get(f"{sent.url}/message").get_data(as_text=True)

    assert long_text.strip() in " ".join(page.split())
    assert len(sent.notice.body) < 160 and long_text[:40] not in sent.notice.body


def test_the_client_may_reply_once_and_it_lands_in_the_inbox(client, send_secure, run_worker):
    sent = send_secure()
    _open(client, sent)
    response = client.post(f"{sent.url}/reply", data={"body": "Thank you, doctor."})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "your reply was sent" in page and "Send reply" not in page
    second = client.post(f"{sent.url}/reply", data={"body": "One more thing"})
    assert second.status_code == 422
    assert "You can reply only once" in second.get_data(as_text=True)
    replies = db.session.scalars(db.select(Message).where(Message.direction == Direction.IN)).all()
    assert [m.body for m in replies] == ["Thank you, doctor."]
    assert replies[0].client_id == sent.secure.client_id


def test_request_a_new_link_tells_staff(client, send_secure):
    sent = send_secure()
    db.session.execute(db.update(SecureMessage).where(SecureMessage.id == sent.secure.id)
                       .values(expires_at=utcnow()))
    db.session.commit()
    response = client.post(f"{sent.url}/request")
    assert response.status_code == 200
    client.post(f"{sent.url}/request")  # a second tap is not a second notification
    events = db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.action == "secure.link_requested")).all()
    assert len(events) == 1 and events[0].client_id == sent.secure.client_id
    inbox = db.session.scalars(db.select(Message).where(Message.direction == Direction.IN)).all()
    assert len(inbox) == 1 and "new secure link" in inbox[0].body
    # An unknown token gets the same answer and notifies no one.
    assert client.post(f"/s/{secrets.token_urlsafe(32)}/request").status_code == 200
    assert db.session.scalar(db.select(db.func.count()).select_from(Message).where(
        Message.direction == Direction.IN)) == 1


def test_pin_attempts_are_rate_limited_per_ip_across_links(app_config, _schema, send_secure):
    from app import create_app

    first, second = send_secure(pin="4821"), send_secure(pin="4821")
    limited = create_app({**app_config, "RATELIMIT_ENABLED": True,
                          "PORTAL_PIN_RATE_LIMIT": "3 per minute"})
    browser = limited.test_client()
    codes = [browser.post(f"{sent.url}/pin", data={"pin": "0000"}).status_code
             for sent in (first, second, first)]
    assert codes == [422, 422, 422]
    blocked = browser.post(f"{second.url}/pin", data={"pin": "4821"})
    assert blocked.status_code == 429
    _check_headers(blocked)
    assert SECRET_TEXT not in blocked.get_data(as_text=True)


def test_a_portal_reply_is_never_read_as_a_keyword(client, send_secure, run_worker):
    sent = send_secure()
    _open(client, sent)
    client.post(f"{sent.url}/reply", data={"body": "STOP"})
    run_worker(queues=["high", "default"])
    from core.clients.models import Client
    from core.simulator.models import SimMessage

    person = db.session.get(Client, sent.secure.client_id)
    assert not person.opted_out  # STOP in the portal is words, not the SMS opt-out keyword
    texts = db.session.scalars(db.select(SimMessage).where(SimMessage.incoming.is_(True))).all()
    assert [t.body for t in texts] == [sent.notice.body]  # no auto-response was texted back
    reply = db.session.scalars(db.select(Message).where(Message.direction == Direction.IN)).one()
    assert reply.appointment_id == sent.secure.appointment_id and reply.provider == "portal"


def test_a_link_without_pin_counts_no_pin_failures(client, send_secure):
    sent = send_secure()
    for _ in range(6):
        response = client.post(f"{sent.url}/pin", data={"pin": "0000"})
        assert response.status_code == 303
    db.session.refresh(sent.secure)
    assert sent.secure.pin_failures == 0 and sent.secure.locked_at is None
    assert client.get(sent.url).status_code == 200
