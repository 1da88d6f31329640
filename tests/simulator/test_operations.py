"""The simulator's webhook signature is Vonage's: the real SDK agrees with every digest."""

import pytest
from vonage_http_client.auth import Auth

from core.simulator.operations import sign_params, signed, verify_params

SECRET = "s3cret-of-the-simulator"
PARAMS = {"msisdn": "12025550001", "to": "12025559999", "messageId": "abc123",
          "text": "Yes & no = maybe", "type": "text", "timestamp": "1700000000"}


def test_our_digest_is_the_vonage_sdk_digest():
    vonage = Auth(api_key="key", signature_secret=SECRET, signature_method="sha256")
    assert sign_params(PARAMS, SECRET) == vonage.sign_params(dict(PARAMS))


def test_the_vonage_sdk_accepts_what_we_sign():
    vonage = Auth(api_key="key", signature_secret=SECRET, signature_method="sha256")
    assert vonage.check_signature(signed(PARAMS, SECRET))


@pytest.mark.parametrize("change", [{"text": "Yes"}, {"sig": "0" * 64}, {"extra": "1"}])
def test_any_change_breaks_the_signature(change):
    payload = signed(PARAMS, SECRET)
    assert verify_params(payload, SECRET)
    payload.update(change)
    assert not verify_params(payload, SECRET)


def test_no_signature_or_another_secret_fails():
    payload = signed(PARAMS, SECRET)
    assert not verify_params(payload, "another-secret")
    del payload["sig"]
    assert not verify_params(payload, SECRET)
