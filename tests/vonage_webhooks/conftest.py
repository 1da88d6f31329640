"""Fixtures of the Vonage webhook tests: a configured signature secret and signing helpers."""

import hashlib
import json
import time
import uuid

import jwt
import pytest

from core import settings
from core.extensions import db
from core.providers.vonage_webhooks import sms_signature

SECRET = "signature-secret-for-tests-0123456789"
API_KEY = "abcd1234"


@pytest.fixture
def signed_webhooks(app):
    """Vonage configured with a signature secret (SHA-256 HMAC for SMS webhooks)."""
    settings.set("vonage_api_key", API_KEY)
    settings.set("vonage_api_secret", "api-secret-4f2a")
    settings.set("vonage_signature_secret", SECRET)
    settings.set("vonage_signature_method", "sha256")
    db.session.commit()


def sign(params: dict, secret: str = SECRET, method: str = "sha256", age: int = 0) -> dict:
    """Params as Vonage posts them: with timestamp, nonce and sig."""
    signed = {k: str(v) for k, v in params.items()}
    signed.setdefault("timestamp", str(int(time.time()) - age))
    signed.setdefault("nonce", uuid.uuid4().hex[:12])
    signed["sig"] = sms_signature(signed, secret, method).upper()  # HMACs come upper-case
    return signed


def jwt_for(body: bytes, secret: str = SECRET, **claims) -> str:
    """The Authorization header Vonage sends with a Messages or Voice webhook."""
    values = {"iat": int(time.time()), "jti": str(uuid.uuid4()), "iss": "Vonage",
              "payload_hash": hashlib.sha256(body).hexdigest(), "api_key": API_KEY,
              "application_id": "aaaaaaaa-bbbb-cccc-dddd-123456789abc"}
    values.update(claims)
    return "Bearer " + jwt.encode(values, secret, algorithm="HS256")


def post_json(client, url: str, payload: dict, **jwt_claims):
    """POST a JSON webhook signed with a JWT (claims may be overridden to forge one)."""
    body = json.dumps(payload).encode()
    secret = jwt_claims.pop("secret", SECRET)
    headers = {"Authorization": jwt_for(body, secret, **jwt_claims)}
    return client.post(url, data=body, headers=headers, content_type="application/json")
