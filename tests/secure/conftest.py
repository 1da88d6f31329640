"""Fixtures of the secure-message tests: secure messaging on, and a sent secure message."""

import re
from dataclasses import dataclass

import pytest

from core.extensions import db
from core.messaging import attachments as files
from core.messaging.compose import create_broadcast
from core.secure import operations as secure_ops
from core.secure.models import SecureMessage
from core.simulator.models import SimMessage

LINK = re.compile(r"/s/([A-Za-z0-9_-]{40,})")
SECRET_TEXT = "Your biopsy result is benign. Dr Okafor"


@dataclass
class Sent:
    """A secure message as the client received it."""

    token: str
    secure: SecureMessage
    notice: SimMessage

    @property
    def url(self) -> str:
        return f"/s/{self.token}"


@pytest.fixture
def secure_on(app):
    """Secure messaging enabled, no provider rate limit, instant simulator receipts."""
    app.config["PROVIDER_RATE_PER_SECOND"] = 0
    app.config["SIMULATOR_RECEIPT_DELAY"] = 0
    app.config["DELIVERY_BACKOFF_SECONDS"] = (1, 1, 1, 1)
    values = {**secure_ops.DEFAULTS, "enabled": True}
    secure_ops.save_config(values)
    return values


def token_in(text: str) -> str:
    """The link token a notice carries."""
    match = LINK.search(text)
    assert match, text
    return match.group(1)


@pytest.fixture
def send_secure(secure_on, make_user, make_client, run_worker):
    """Send one secure message to a new client and run the worker; returns what arrived."""

    def send(*, pin: str = "", channel: str = "sms", hours: float = 72, attachments=(),
             client=None, body: str = SECRET_TEXT) -> Sent:
        client = client or make_client()
        uploads = [files.Upload(name, data) for name, data in attachments]
        create_broadcast(actor=make_user(), channel=channel, recipients={"client_id": client.id},
                         subject="Your results" if channel == "email" else "", body=body,
                         attachments=uploads, secure={"pin": pin, "lifetime_hours": hours})
        run_worker(queues=["high", "default"])
        address = client.email if channel == "email" else client.mobile
        notice = db.session.scalars(db.select(SimMessage).where(
            SimMessage.address == address, SimMessage.incoming.is_(True))
            .order_by(SimMessage.id.desc())).first()
        assert notice is not None, "the notice was not delivered"
        token = token_in(notice.body)
        secure = secure_ops.find(token)
        secure_ops.notice_of(secure)  # what the first visit or staff page would link
        db.session.commit()
        return Sent(token, secure, notice)

    return send
