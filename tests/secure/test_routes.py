"""Staff side: compose "Send securely", the status on the message page, actions, settings."""

import io

import pytest

from core.auth.models import Role
from core.extensions import db
from core.messaging.models import Broadcast
from core.secure import lifecycle
from core.secure import operations as secure_ops
from core.secure.models import SecureMessage
from tests.secure.conftest import SECRET_TEXT


def test_compose_send_securely_sends_a_link_not_the_text(client_for, secure_on, make_client,
                                                         run_worker):
    editor = client_for(Role.EDIT)
    person = make_client()
    assert "Send securely" in editor.get("/compose/").get_data(as_text=True)
    response = editor.post("/compose/", data={
        "recipients": "person", "client_id": str(person.id), "channel": "sms", "when": "now",
        "body": SECRET_TEXT, "secure": "y", "secure_pin": "2468", "secure_hours": "24"})
    assert response.status_code == 303
    run_worker(queues=["high", "default"])
    row = db.session.scalars(db.select(SecureMessage)).one()
    assert row.pin_hash and secure_ops.pin_matches(row.pin_hash, "2468")
    hours = (row.expires_at - row.created_at).total_seconds() / 3600
    assert 23.9 < hours < 24.1


def test_compose_takes_files_on_a_text_only_when_it_goes_securely(client_for, secure_on,
                                                                  make_client):
    from core.messaging import attachments as files
    from core.messaging.compose import ComposeError, check
    from core.secure.models import SecureFile
    from tests.compose.files import pdf

    editor = client_for(Role.EDIT)
    person = make_client()
    form = {"recipients": "person", "client_id": str(person.id), "channel": "sms",
            "when": "now", "body": SECRET_TEXT}

    with pytest.raises(ComposeError, match="cannot carry files"):  # a plain text: no files
        check(channel="sms", recipients={"client_id": person.id}, body="Hi",
              uploads=[files.Upload("scan.pdf", pdf(300))])

    secure = editor.post("/compose/", data={**form, "secure": "y", "secure_pin": "2468",
                                            "files": (io.BytesIO(pdf(300)), "scan.pdf")},
                         content_type="multipart/form-data")
    assert secure.status_code == 303
    stored = db.session.scalars(db.select(SecureFile)).one()
    assert stored.filename == "scan.pdf" and b"%PDF" not in bytes(stored.data)


def test_compose_refuses_secure_voice_a_bad_pin_and_a_disabled_feature(client_for, secure_on,
                                                                      make_client):
    editor = client_for(Role.EDIT)
    person = make_client()
    base = {"recipients": "person", "client_id": str(person.id), "when": "now",
            "body": SECRET_TEXT, "secure": "y"}
    voice = editor.post("/compose/", data={**base, "channel": "voice"})
    assert voice.status_code == 422 and "Only a text (SMS) or an email" in voice.get_data(
        as_text=True)
    bad_pin = editor.post("/compose/", data={**base, "channel": "sms", "secure_pin": "12ab"})
    assert bad_pin.status_code == 422 and "4 to 8 digits" in bad_pin.get_data(as_text=True)
    secure_ops.save_config({**secure_on, "enabled": False})
    off = editor.post("/compose/", data={**base, "channel": "sms"})
    assert off.status_code == 422 and "turned off" in off.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Broadcast)) == 0


def test_pin_required_by_default_refuses_a_send_without_pin(secure_on, make_user, make_client):
    from core.messaging.compose import ComposeError, create_broadcast

    secure_ops.save_config({**secure_on, "pin_required": True})
    try:
        create_broadcast(actor=make_user(), channel="sms",
                         recipients={"client_id": make_client().id}, body="x",
                         secure={"pin": ""})
    except ComposeError as exc:
        assert "Set a PIN" in str(exc)
    else:
        raise AssertionError("sent without the required PIN")


def test_message_page_shows_the_secure_status_and_staff_act_on_it(client, client_for,
                                                                  send_secure):
    sent = send_secure(pin="4821")
    client.get(sent.url)
    client.post(f"{sent.url}/reveal")
    client.post(f"{sent.url}/pin", data={"pin": "0000"})
    editor = client_for(Role.EDIT)
    page = editor.get(f"/messages/{sent.secure.message_id}").get_data(as_text=True)
    assert "Secure message" in page and "1 wrong attempt(s)" in page
    assert "Revoke link" in page and "Resend a fresh link" in page
    assert SECRET_TEXT not in page
    response = editor.post(f"/secure/{sent.secure.id}/revoke")
    assert response.status_code == 303
    assert client.get(sent.url).status_code == 404
    page = editor.get(response.headers["Location"]).get_data(as_text=True)
    assert "Revoked" in page


def test_read_only_staff_see_the_status_but_cannot_act(client_for, send_secure):
    sent = send_secure()
    reader = client_for(Role.READ_ONLY)
    page = reader.get(f"/messages/{sent.secure.message_id}").get_data(as_text=True)
    assert "Secure message" in page and "Revoke link" not in page
    assert reader.post(f"/secure/{sent.secure.id}/revoke").status_code == 403
    assert secure_ops.find(sent.token).revoked_at is None


def test_admin_settings_page_saves_and_validates(admin_client):
    page = admin_client.get("/secure/settings")
    assert page.status_code == 200 and "Enable secure messaging" in page.get_data(as_text=True)
    form = {**secure_ops.DEFAULTS, "enabled": "y", "lifetime": "48", "lifetime_unit": "hours"}
    form.pop("pin_required")
    form.pop("lifetime_hours")
    bad = admin_client.post("/secure/settings", data={**form, "sms_body": "no link here"})
    assert bad.status_code == 422 and "{{ link }}" in bad.get_data(as_text=True)
    hostile = admin_client.post("/secure/settings",
                                data={**form, "email_body": "{{ link }} {{ config }}"})
    assert hostile.status_code == 422
    assert admin_client.post("/secure/settings", data=form).status_code == 303
    saved = secure_ops.config()
    assert saved["enabled"] is True and saved["lifetime_hours"] == 48
    assert saved["pin_required"] is False


def test_email_notice_uses_the_settings_with_merge_fields(secure_on, send_secure, make_client):
    secure_ops.save_config({**secure_on, "email_subject": "Private note for {{ first_name }}",
                            "email_body": "Dear {{ first_name }}, read it at {{ link }} ."})
    person = make_client(first_name="Ngozi")
    sent = send_secure(channel="email", client=person)
    assert sent.notice.subject == "Private note for Ngozi"
    assert sent.notice.body.startswith("Dear Ngozi, read it at http")


def test_a_scheduled_secure_send_cannot_be_edited_into_clear_text(secure_on, make_user,
                                                                 make_client):
    from datetime import timedelta

    from core.messaging.compose import ComposeError, create_broadcast, edit_scheduled
    from core.types import utcnow

    later = utcnow() + timedelta(hours=2)
    broadcast = create_broadcast(actor=make_user(), channel="sms",
                                 recipients={"client_id": make_client().id}, body=SECRET_TEXT,
                                 send_at=later, secure={"pin": ""})
    try:
        edit_scheduled(broadcast.id, actor=make_user(), body="changed", send_at=later)
    except ComposeError as exc:
        assert "cannot be edited" in str(exc)
    else:
        raise AssertionError("a secure send was edited")
    db.session.refresh(broadcast)
    assert SECRET_TEXT not in broadcast.body and "changed" not in broadcast.body


def test_settings_take_the_lifetime_in_days_and_refuse_too_long(admin_client):
    form = {**secure_ops.DEFAULTS, "enabled": "y", "pin_required": "y", "lifetime": "3",
            "lifetime_unit": "days"}
    form.pop("lifetime_hours")
    too_long = admin_client.post("/secure/settings", data={**form, "lifetime": "91"})
    assert too_long.status_code == 422
    assert "between 1 hour and 90 days" in too_long.get_data(as_text=True)
    assert admin_client.post("/secure/settings", data=form).status_code == 303
    saved = secure_ops.config()
    assert saved["lifetime_hours"] == 72 and saved["pin_required"] is True
    page = admin_client.get("/secure/settings").get_data(as_text=True)
    assert 'value="3"' in page and '<option selected value="days">' in page


def test_pin_required_by_default_ticks_compose_and_the_sender_may_untick_it(
        client_for, secure_on, make_client):
    secure_ops.save_config({**secure_on, "pin_required": True})
    editor = client_for(Role.EDIT)
    person = make_client()
    page = editor.get("/compose/").get_data(as_text=True)
    assert 'id="secure_require_pin" name="secure_require_pin" type="checkbox" value="y" checked' \
        in page or 'checked id="secure_require_pin"' in page
    base = {"recipients": "person", "client_id": str(person.id), "channel": "sms",
            "when": "now", "body": SECRET_TEXT, "secure": "y"}
    missing = editor.post("/compose/", data={**base, "secure_require_pin": "y"})
    assert missing.status_code == 422 and "Set a PIN" in missing.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Broadcast)) == 0
    assert editor.post("/compose/", data=base).status_code == 303  # unticked: no PIN needed
    with_pin = editor.post("/compose/", data={**base, "secure_require_pin": "y",
                                              "secure_pin": "97531"})
    assert with_pin.status_code == 303
    options = [b.options["secure"] for b in db.session.scalars(db.select(Broadcast))]
    assert [bool(o["pin_hash"]) for o in options] == [False, True]


def test_compose_hides_send_securely_while_the_feature_is_off(client_for):
    page = client_for(Role.EDIT).get("/compose/").get_data(as_text=True)
    assert "Send securely" not in page


def test_an_old_notice_still_shows_the_status_after_a_resend(client_for, send_secure, make_user,
                                                              run_worker):
    sent = send_secure()
    old_notice = sent.secure.message_id
    lifecycle.resend(sent.secure.id, actor=make_user())
    run_worker(queues=["high", "default"])
    page = client_for(Role.READ_ONLY).get(f"/messages/{old_notice}").get_data(as_text=True)
    assert "Secure message" in page and "1 time(s)" in page
    assert sent.token not in page  # the dead link was taken out of the old notice


def test_the_outbox_marks_a_secure_notice_and_never_shows_its_text(client_for, send_secure):
    send_secure()
    page = client_for(Role.READ_ONLY).get("/messages/outbox").get_data(as_text=True)
    assert "Secure link" in page
    assert SECRET_TEXT not in page and secure_ops.SLOT not in page
