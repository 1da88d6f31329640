"""The Settings page: validation, secrets never shown back, and the test message."""

import io

from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from core import settings
from core.extensions import db
from core.messaging.models import Message, Status
from core.simulator.models import SimMessage
from tests.fake_vonage import SMS_PATH, sms_ok, sms_status

APP_ID = "aaaaaaaa-bbbb-cccc-dddd-123456789abc"
API_SECRET = "api-secret-value-4f2a"


def _vonage(**overrides) -> dict:
    data = {"vonage_api_key": "abcd1234", "vonage_api_secret": API_SECRET,
            "vonage_signature_secret": "signature-secret-77", "vonage_signature_method": "sha256",
            "vonage_application_id": "", "vonage_private_key": "", "vonage_from": "+1 202 555 0147",
            "vonage_voice_from": "", "public_url": ""}
    data.update(overrides)
    return data


def test_page_shows_sections_and_what_sends_each_channel(admin_client):
    page = admin_client.get("/settings/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for text in ("Vonage: texts, picture messages and calls", "Email (SMTP)", "Business",
                 "Send a test message", "How messages are sent now", "Phone simulator",
                 "/webhooks/vonage/sms/receipt"):
        assert text in html


def test_page_links_to_the_secure_and_two_way_settings_that_admins_can_open(admin_client):
    html = admin_client.get("/settings/").get_data(as_text=True)
    for path in ("/secure/settings", "/conversations/settings"):
        assert f'href="{path}"' in html
        assert admin_client.get(path).status_code == 200


def test_saving_vonage_credentials_stores_them_encrypted_and_never_shows_them(admin_client):
    response = admin_client.post("/settings/vonage", data=_vonage())
    assert response.status_code == 303
    assert settings.get("vonage_api_secret") == API_SECRET
    assert settings.get("vonage_from") == "+12025550147"  # normalised to E.164
    html = admin_client.get("/settings/").get_data(as_text=True)
    assert API_SECRET not in html and "signature-secret-77" not in html
    assert "set, ends in …4f2a" in html
    assert "Vonage settings saved." in html


def test_blank_secret_keeps_the_stored_one_and_the_box_removes_it(admin_client):
    admin_client.post("/settings/vonage", data=_vonage())
    admin_client.post("/settings/vonage", data=_vonage(vonage_api_secret="",
                                                        vonage_from="DrLee"))
    assert settings.get("vonage_api_secret") == API_SECRET
    assert settings.get("vonage_from") == "DrLee"
    response = admin_client.post("/settings/vonage", data=_vonage(
        vonage_api_key="", vonage_api_secret="", clear_vonage_api_secret="y"))
    assert response.status_code == 303
    assert settings.get("vonage_api_secret") == "" and settings.get("vonage_api_key") == ""


def test_invalid_sender_is_refused_and_nothing_is_saved(admin_client):
    for sender, message in (("ClinicLeeDental", "up to 11 letters"),
                            ("+1 555", "not a valid phone number"), ("12345", "not a valid")):
        response = admin_client.post("/settings/vonage", data=_vonage(vonage_from=sender))
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    assert settings.get("vonage_api_key") == ""
    assert not settings.is_stored("vonage_api_secret")


def test_key_without_secret_and_application_without_key_are_refused(admin_client):
    response = admin_client.post("/settings/vonage", data=_vonage(vonage_api_secret=""))
    assert response.status_code == 422
    assert "Enter the API secret that goes with the key." in response.get_data(as_text=True)
    response = admin_client.post("/settings/vonage", data=_vonage(vonage_application_id=APP_ID))
    assert response.status_code == 422
    assert "Add the application&#39;s private key." in response.get_data(as_text=True)
    assert settings.get("vonage_api_key") == ""


def test_bad_application_id_and_pasted_garbage_key_are_refused_without_echo(admin_client):
    garbage = "-----BEGIN PRIVATE KEY-----\nnot really a key\n-----END PRIVATE KEY-----"
    response = admin_client.post("/settings/vonage", data=_vonage(
        vonage_application_id="app-1", vonage_private_key=garbage))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "An application id looks like" in html and "This is not a private key" in html
    assert "not really a key" not in html


def test_uploaded_pkcs1_key_is_stored_as_pkcs8_and_shown_by_fingerprint(admin_client, rsa_key_pem):
    key = serialization.load_pem_private_key(rsa_key_pem.encode(), password=None)
    pkcs1 = key.private_bytes(serialization.Encoding.PEM,
                              serialization.PrivateFormat.TraditionalOpenSSL,
                              serialization.NoEncryption())
    data = _vonage(vonage_application_id=APP_ID.upper())
    data["vonage_private_key_file"] = (io.BytesIO(pkcs1), "private.key")
    response = admin_client.post("/settings/vonage", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    assert settings.get("vonage_private_key").startswith("-----BEGIN PRIVATE KEY-----")
    assert settings.get("vonage_application_id") == APP_ID
    html = admin_client.get("/settings/").get_data(as_text=True)
    assert "key fingerprint" in html and "BEGIN PRIVATE KEY" not in html


def test_htmx_save_returns_the_section_and_refreshes_the_status_table(admin_client):
    response = admin_client.post("/settings/vonage", data=_vonage(),
                                 headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="settings-vonage"')
    assert "Vonage settings saved." in html
    assert 'id="settings-status" class="card" hx-swap-oob="true"' in html
    assert ">Vonage</span>" in html  # texts now go through Vonage

    bad = admin_client.post("/settings/vonage", data=_vonage(vonage_from="!!"),
                            headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "<html" not in bad.get_data(as_text=True)


def test_email_settings_validation(admin_client):
    data = {"smtp_host": "bad host!", "smtp_port": "70000", "smtp_security": "starttls",
            "smtp_username": "desk", "smtp_password": "", "smtp_from": "nope",
            "smtp_from_name": ""}
    html = admin_client.post("/settings/email", data=data).get_data(as_text=True)
    assert "Enter a host name like smtp.example.com." in html
    assert "A port is a number from 1 to 65535." in html
    assert "Enter a valid email address." in html
    data.update(smtp_host="smtp.example.com", smtp_port="587", smtp_from="desk@example.com")
    response = admin_client.post("/settings/email", data=data)
    assert response.status_code == 422
    assert "Enter the password of this user." in response.get_data(as_text=True)
    data["smtp_password"] = " pass with spaces "
    assert admin_client.post("/settings/email", data=data).status_code == 303
    assert settings.get("smtp_password") == " pass with spaces "
    assert settings.get("smtp_host") == "smtp.example.com"


def test_business_settings_validation(admin_client):
    data = {"business_name": "Lee Dental", "business_phone": "202 555 0147",
            "business_timezone": "Mars/Olympus", "delivery_mode": "live"}
    response = admin_client.post("/settings/business", data=data)
    assert response.status_code == 422
    assert "is not a time zone" in response.get_data(as_text=True)
    data["business_timezone"] = "Europe/Berlin"
    assert admin_client.post("/settings/business", data=data).status_code == 303
    assert settings.business_timezone() == "Europe/Berlin"
    assert settings.get("business_phone") == "+12025550147"


def test_test_message_through_the_simulator(admin_client):
    response = admin_client.post("/settings/test", data={"channel": "sms", "to": "202-555-0147"})
    assert response.status_code == 200
    assert "Sent through the phone simulator" in response.get_data(as_text=True)
    message = db.session.scalar(select(Message))
    assert (message.status, message.to_addr, message.provider) == (Status.SENT, "+12025550147",
                                                                   "simulator")
    assert db.session.scalar(select(SimMessage)).address == "+12025550147"


def test_test_message_with_a_bad_address_is_refused(admin_client):
    response = admin_client.post("/settings/test", data={"channel": "email", "to": "not-mail"},
                                 headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert "Enter a valid email address." in response.get_data(as_text=True)
    assert db.session.scalar(select(Message)) is None


def _live_vonage(app, fake_vonage):
    app.config.update(VONAGE_REST_HOST=fake_vonage.host, VONAGE_API_HOST=fake_vonage.host,
                      VONAGE_TIMEOUT=1)
    for key, value in _vonage(vonage_from="+12025550100").items():
        if key.startswith("vonage_") and value:
            settings.set(key, value)
    db.session.commit()


def test_test_message_through_vonage(app, admin_client, fake_vonage):
    _live_vonage(app, fake_vonage)
    fake_vonage.script(SMS_PATH, sms_ok(("0B00000012345678", "0.0079")))
    response = admin_client.post("/settings/test", data={"channel": "sms", "to": "+12025550147"},
                                 headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert "Sent through Vonage. Provider id 0B00000012345678, cost 0.0079." in html
    [request] = fake_vonage.seen(SMS_PATH)
    message = db.session.scalar(select(Message))
    assert request.form["client-ref"] == str(message.id)
    assert (message.status, message.provider_id) == (Status.SENT, "0B00000012345678")


def test_test_message_shows_vonage_refusal_plainly(app, admin_client, fake_vonage):
    _live_vonage(app, fake_vonage)
    fake_vonage.script(SMS_PATH, sms_status("29", "Non White-listed Destination - rejected"))
    response = admin_client.post("/settings/test", data={"channel": "sms", "to": "+12025550147"})
    html = response.get_data(as_text=True)
    assert "Refused by Vonage: Vonage: Non White-listed Destination - rejected" in html
    assert "(code 29)" in html
    message = db.session.scalar(select(Message))
    assert message.status == Status.FAILED and "Non White-listed" in message.reason
