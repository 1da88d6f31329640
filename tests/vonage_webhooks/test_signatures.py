"""Signature checks of Vonage webhooks, against the SDK's own signer where it has one."""

import hashlib
import time

import jwt
import pytest
from vonage_http_client import Auth

from core.providers.vonage_webhooks import (
    WebhookRefused,
    check_jwt,
    check_sms_signature,
    sms_signature,
)
from tests.vonage_webhooks.conftest import SECRET, jwt_for, sign

PARAMS = {"msisdn": "12025550147", "to": "12025550100", "messageId": "0B00000012345678",
          "text": "a=b & c", "type": "text", "timestamp": "1700000000", "nonce": "abc"}


@pytest.mark.parametrize("method", ["md5", "sha1", "sha256", "sha512"])
def test_hmac_signatures_match_the_vonage_sdk(method):
    sdk = Auth(api_key="abcd1234", signature_secret=SECRET, signature_method=method)
    assert sms_signature(PARAMS, SECRET, method) == sdk.sign_params(dict(PARAMS))


def test_md5_hash_signature_is_md5_of_the_params_and_secret():
    text = ("&messageId=0B00000012345678&msisdn=12025550147&nonce=abc&text=a_b _ c"
            "&timestamp=1700000000&to=12025550100&type=text")
    expected = hashlib.md5((text + SECRET).encode()).hexdigest()
    assert sms_signature(PARAMS, SECRET, "md5hash") == expected


def test_signed_params_pass_in_either_case():
    params = sign({"messageId": "X1", "status": "delivered"})
    check_sms_signature(params, SECRET, "sha256")
    check_sms_signature({**params, "sig": params["sig"].lower()}, SECRET, "sha256")


@pytest.mark.parametrize("change,status,reason", [
    ({"status": "failed"}, 403, "bad signature"),  # tampered after signing
    ({"sig": ""}, 503, "unsigned callback"),  # Vonage retries it, signed
    ({"sig": "0" * 64}, 403, "bad signature"),
])
def test_tampered_or_missing_signature_is_refused(change, status, reason):
    params = {**sign({"messageId": "X1", "status": "delivered"}), **change}
    with pytest.raises(WebhookRefused) as caught:
        check_sms_signature(params, SECRET, "sha256")
    assert caught.value.status == status and caught.value.reason.startswith(reason)


def test_old_or_future_signatures_are_refused():
    old = sign({"messageId": "X1"}, age=2 * 86400)
    with pytest.raises(WebhookRefused, match="expired"):
        check_sms_signature(old, SECRET, "sha256")
    future = sign({"messageId": "X1"}, age=-3600)
    with pytest.raises(WebhookRefused, match="expired"):
        check_sms_signature(future, SECRET, "sha256")


def test_wrong_method_or_secret_is_refused():
    params = sign({"messageId": "X1"})
    with pytest.raises(WebhookRefused):
        check_sms_signature(params, SECRET, "sha512")
    with pytest.raises(WebhookRefused):
        check_sms_signature(params, "another-secret-entirely", "sha256")


def test_jwt_good_and_its_claims():
    body = b'{"status": "delivered"}'
    claims = check_jwt(jwt_for(body), body, SECRET, api_key="abcd1234")
    assert claims["iss"] == "Vonage"


@pytest.mark.parametrize("header,body", [(None, b"{}"), ("Basic abc", b"{}")])
def test_a_missing_jwt_is_answered_for_a_retry(header, body):
    with pytest.raises(WebhookRefused) as caught:
        check_jwt(header, body, SECRET, api_key="abcd1234")
    assert caught.value.status == 503 and "retries" in caught.value.reason


@pytest.mark.parametrize("header,body,reason", [
    (jwt_for(b"{}", secret="not-the-secret-at-all-000000000000"), b"{}", "bad signature"),
    (jwt_for(b"{}", exp=int(time.time()) - 600), b"{}", "signature expired"),
    (jwt_for(b"{}", iat=int(time.time()) - 3 * 86400), b"{}", "signature expired"),
    (jwt_for(b'{"status": "read"}'), b'{"status": "failed"}', "body does not match"),
    (jwt_for(b"{}", api_key="someone"), b"{}", "another Vonage account"),
])
def test_bad_jwts_are_refused(header, body, reason):
    with pytest.raises(WebhookRefused) as caught:
        check_jwt(header, body, SECRET, api_key="abcd1234")
    assert caught.value.status == 403 and reason in caught.value.reason


def test_unsigned_none_algorithm_jwt_is_refused():
    body = b"{}"
    token = jwt.encode({"iat": int(time.time()), "payload_hash": hashlib.sha256(body).hexdigest()},
                       None, algorithm="none")
    with pytest.raises(WebhookRefused, match="bad signature"):
        check_jwt(f"Bearer {token}", body, SECRET)
