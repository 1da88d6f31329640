"""Vonage MMS (Messages API) through the real SDK against the local HTTPS fake."""

import jwt
import pytest

from core.providers.base import Outgoing, PermanentError, TransientError, UnknownOutcomeError
from core.providers.vonage import VonageMmsProvider
from tests.fake_vonage import MESSAGES_PATH, Reply, public_key_of
from tests.providers.conftest import APP_ID

UUID = "aaaaaaaa-bbbb-4ccc-8ddd-0123456789ab"
PICTURE = "https://tidings.example.com/media/abc.jpg"


def _mms(urls=(PICTURE,), body="Our new office") -> Outgoing:
    return Outgoing(message_id=7, channel="mms", to="+15550001111", body=body,
                    media_urls=tuple(urls))


def test_picture_with_caption_signed_with_the_application_key(fake_vonage, vonage_config,
                                                              rsa_key_pem):
    """One image with the text as caption; JWT auth from the application's private key."""
    fake_vonage.script(MESSAGES_PATH, Reply(202, {"message_uuid": UUID}))
    config = vonage_config(public_url="https://tidings.example.com")
    result = VonageMmsProvider(config).send(_mms())
    assert (result.provider_id, result.segments) == (UUID, 1)
    [request] = fake_vonage.seen(MESSAGES_PATH)
    body = request.json
    assert body["channel"] == "mms" and body["message_type"] == "image"
    assert body["image"] == {"url": PICTURE, "caption": "Our new office"}
    assert body["to"] == "15550001111" and body["from"] == "15550009999"
    assert body["client_ref"] == "7"
    assert body["webhook_url"] == "https://tidings.example.com/webhooks/vonage/messages/status"
    claims = jwt.decode(request.bearer, public_key_of(rsa_key_pem), algorithms=["RS256"])
    assert claims["application_id"] == APP_ID


def test_several_pictures_go_as_one_content_message(fake_vonage, vonage_config):
    fake_vonage.script(MESSAGES_PATH, Reply(202, {"message_uuid": UUID}))
    urls = (PICTURE, "https://tidings.example.com/media/def.png")
    VonageMmsProvider(vonage_config()).send(_mms(urls))
    body = fake_vonage.seen(MESSAGES_PATH)[0].json
    assert body["message_type"] == "content"
    assert [item["url"] for item in body["content"]] == list(urls)
    assert body["content"][0]["caption"] == "Our new office"


def test_basic_auth_when_only_the_api_key_is_set(fake_vonage, vonage_config):
    fake_vonage.script(MESSAGES_PATH, Reply(202, {"message_uuid": UUID}))
    VonageMmsProvider(vonage_config(application_id="", private_key="")).send(_mms())
    assert fake_vonage.seen(MESSAGES_PATH)[0].basic_auth == ("abcd1234", "api-secret-4f2a")


def test_invalid_parameters_are_permanent_with_the_problem_details(fake_vonage, vonage_config):
    fake_vonage.script(MESSAGES_PATH, Reply(422, {
        "type": "https://developer.vonage.com/api-errors#invalid-param", "title": "Invalid params",
        "detail": "The value of one or more parameters is invalid.",
        "invalid_parameters": [{"name": "to", "reason": "Not a valid number"}]}))
    with pytest.raises(PermanentError) as caught:
        VonageMmsProvider(vonage_config()).send(_mms())
    assert caught.value.code == "422"
    assert "Invalid params" in caught.value.reason
    assert "to: Not a valid number" in caught.value.reason
    assert len(fake_vonage.seen()) == 1


@pytest.mark.parametrize("reply,error", [
    (Reply(429, {"title": "Rate Limit Hit"}), TransientError),
    (Reply(500, {"title": "Internal Error"}), TransientError),
    (Reply(drop=True), UnknownOutcomeError),
    (Reply(delay=2.5, body={"message_uuid": UUID}), UnknownOutcomeError),
])
def test_failures_reach_vonage_exactly_once(fake_vonage, vonage_config, reply, error):
    fake_vonage.script(MESSAGES_PATH, reply, Reply(202, {"message_uuid": "second"}))
    with pytest.raises(error):
        VonageMmsProvider(vonage_config()).send(_mms())
    assert len(fake_vonage.seen(MESSAGES_PATH)) == 1


def test_picture_without_a_public_address_is_refused_before_sending(fake_vonage, vonage_config):
    with pytest.raises(PermanentError, match="public web address"):
        VonageMmsProvider(vonage_config()).send(_mms(("/media/abc.jpg",)))
    assert fake_vonage.seen() == []
