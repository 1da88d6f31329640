"""Email through a real SMTP server (aiosmtpd) on a free port: content, attachments, failures."""

import email
import socket
import ssl
from email import policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from core.messaging import attachments
from core.providers.base import Outgoing, PermanentError, TransientError, UnknownOutcomeError
from core.providers.smtp_email import SmtpConfig, SmtpEmailProvider
from tests.fake_vonage import vonage_ca  # noqa: F401  (fixture: a CA for STARTTLS)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """What the SMTP server received, and how it should misbehave."""

    def __init__(self):
        self.envelopes = []
        self.rcpt_reply = None
        self.drop_after_data = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        if self.drop_after_data:
            server.transport.close()
        return "250 Message accepted for delivery"

    def messages(self):
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


@pytest.fixture
def smtp_server():
    """Factory: start an aiosmtpd server with options; stopped after the test."""
    started = []

    def start(**options):
        box = Mailbox()
        controller = Controller(box, hostname="127.0.0.1", port=_free_port(), **options)
        controller.start()
        started.append(controller)
        return box, controller.port

    yield start
    for controller in started:
        controller.stop()


def _config(port, **kw) -> SmtpConfig:
    values = {"host": "127.0.0.1", "port": port, "security": "none", "sender": "desk@clinic.test",
              "sender_name": "Lee Clinic", "timeout": 2}
    values.update(kw)
    return SmtpConfig(**values)


def _email(**kw) -> Outgoing:
    values = {"message_id": 5, "channel": "email", "to": "ana@example.com",
              "subject": "Your visit", "body": "See you on Monday.\nLine two."}
    values.update(kw)
    return Outgoing(**values)


def test_email_with_attachments_arrives_whole(app, smtp_server, tmp_path):
    """Subject, sender, body, a file by path and one of our stored attachments by signed URL."""
    box, port = smtp_server()
    leaflet = tmp_path / "leaflet.txt"
    leaflet.write_text("Bring your insurance card.")
    [stored] = attachments.store(None, [attachments.Checked("file", "Directions.pdf",
                                                            "application/pdf", PDF)])
    from core.extensions import db

    db.session.commit()
    message = _email(media_urls=(str(leaflet), attachments.signed_url(stored)))
    result = SmtpEmailProvider(_config(port)).send(message)

    [envelope] = box.envelopes
    assert envelope.mail_from == "desk@clinic.test" and envelope.rcpt_tos == ["ana@example.com"]
    [mail] = box.messages()
    assert mail["Subject"] == "Your visit"
    assert mail["From"] == "Lee Clinic <desk@clinic.test>"
    assert mail["Message-ID"] == f"<{result.provider_id}@clinic.test>"
    text = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.strip() == "See you on Monday.\nLine two."
    files = {part.get_filename(): part for part in mail.iter_attachments()}
    assert files["leaflet.txt"].get_content().strip() == "Bring your insurance card."
    assert files["Directions.pdf"].get_content_type() == "application/pdf"
    assert files["Directions.pdf"].get_content() == PDF
    assert b"\r\n" in envelope.original_content and b"\n\n" not in envelope.original_content


def test_login_and_starttls_with_a_verified_certificate(smtp_server, vonage_ca, monkeypatch):  # noqa: F811
    ca, ca_path = vonage_ca
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_path))
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)

    def check(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (b"desk", b"pw 1")
        return AuthResult(success=ok, handled=False)  # let the server answer 535

    box, port = smtp_server(tls_context=server_context, require_starttls=True,
                            authenticator=check, auth_required=True)
    config = _config(port, security="starttls", username="desk", password="pw 1")
    SmtpEmailProvider(config).send(_email())
    assert len(box.envelopes) == 1

    with pytest.raises(PermanentError, match="user name or password"):
        SmtpEmailProvider(_config(port, security="starttls", username="desk",
                                  password="wrong")).send(_email())
    assert len(box.envelopes) == 1


@pytest.mark.parametrize("reply,error", [
    ("550 5.1.1 No such user", PermanentError),
    ("451 4.3.0 Try again later", TransientError),
])
def test_refused_recipient(smtp_server, reply, error):
    box, port = smtp_server()
    box.rcpt_reply = reply
    with pytest.raises(error) as caught:
        SmtpEmailProvider(_config(port)).send(_email())
    assert reply.split(" ", 1)[1] in caught.value.reason
    assert box.envelopes == []


def test_connection_lost_after_the_content_is_unknown(smtp_server):
    """The server had the whole email when the line dropped: it may be delivered."""
    box, port = smtp_server()
    box.drop_after_data = True
    with pytest.raises(UnknownOutcomeError):
        SmtpEmailProvider(_config(port)).send(_email())
    assert len(box.envelopes) == 1


def test_no_server_is_transient():
    with pytest.raises(TransientError, match="Could not connect"):
        SmtpEmailProvider(_config(_free_port())).send(_email())


def test_missing_attachment_is_permanent(smtp_server, tmp_path):
    box, port = smtp_server()
    with pytest.raises(PermanentError, match="no longer exists"):
        SmtpEmailProvider(_config(port)).send(_email(media_urls=(str(tmp_path / "gone.pdf"),)))
    assert box.envelopes == []
