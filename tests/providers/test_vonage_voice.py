"""Vonage voice calls through the real SDK against the local HTTPS fake."""

import jwt
import pytest

from core.providers.base import Outgoing, PermanentError, TransientError, UnknownOutcomeError
from core.providers.vonage import VonageVoiceProvider, talk_chunks
from tests.fake_vonage import CALLS_PATH, Reply, public_key_of
from tests.providers.conftest import APP_ID

CALL = {"uuid": "63f61863-4a51-4f6b-86e1-46edebcf9356", "status": "started",
        "direction": "outbound", "conversation_uuid": "CON-f972836a-550f-45fa-956c-12a2ab5b7d22"}


def _call(**kw) -> Outgoing:
    values = {"message_id": 9, "channel": "voice", "to": "+15550001111",
              "body": "Your appointment is tomorrow at nine."}
    values.update(kw)
    return Outgoing(**values)


def test_text_to_speech_call(fake_vonage, vonage_config, rsa_key_pem):
    """A talk NCCO with the text, our number as caller, events to our webhook, JWT auth."""
    fake_vonage.script(CALLS_PATH, Reply(201, CALL))
    result = VonageVoiceProvider(vonage_config(public_url="https://t.example.com")).send(_call())
    assert (result.provider_id, result.code) == (CALL["uuid"], "started")
    [request] = fake_vonage.seen(CALLS_PATH)
    body = request.json
    assert body["ncco"] == [{"action": "talk", "text": "Your appointment is tomorrow at nine.",
                             "language": "en-US"}]
    assert body["to"] == [{"number": "15550001111", "type": "phone"}]
    assert body["from"] == {"number": "15550009999", "type": "phone"}
    assert body["event_url"] == ["https://t.example.com/webhooks/vonage/voice/event"]
    claims = jwt.decode(request.bearer, public_key_of(rsa_key_pem), algorithms=["RS256"])
    assert claims["application_id"] == APP_ID


def test_uploaded_recording_is_streamed(fake_vonage, vonage_config):
    fake_vonage.script(CALLS_PATH, Reply(201, CALL))
    url = "https://t.example.com/media/signed-token"
    VonageVoiceProvider(vonage_config()).send(_call(body="", audio_url=url))
    assert fake_vonage.seen(CALLS_PATH)[0].json["ncco"] == [{"action": "stream",
                                                              "streamUrl": [url]}]


def test_caller_number_prefers_the_voice_setting(fake_vonage, vonage_config):
    fake_vonage.script(CALLS_PATH, Reply(201, CALL))
    VonageVoiceProvider(vonage_config(sender="DrLee", voice_from="+15550002222")).send(_call())
    assert fake_vonage.seen(CALLS_PATH)[0].json["from"]["number"] == "15550002222"


def test_alphanumeric_sender_cannot_call(fake_vonage, vonage_config):
    with pytest.raises(PermanentError, match="caller number"):
        VonageVoiceProvider(vonage_config(sender="DrLee")).send(_call())
    assert fake_vonage.seen() == []


def test_long_text_is_split_under_the_talk_limit():
    text = ("This sentence is part of a long notice. " * 80).strip()
    chunks = talk_chunks(text)
    assert len(chunks) > 1 and all(len(c) <= 1500 for c in chunks)
    assert " ".join(chunks) == text
    assert all(c.endswith(".") for c in chunks)


def test_calls_need_the_application(fake_vonage, vonage_config):
    with pytest.raises(PermanentError, match="application id"):
        VonageVoiceProvider(vonage_config(application_id="", private_key="")).send(_call())
    assert fake_vonage.seen() == []


@pytest.mark.parametrize("reply,error", [
    (Reply(401, {"title": "Unauthorized"}), PermanentError),
    (Reply(429, {"title": "Too Many Requests"}), TransientError),
    (Reply(503, {"title": "Unavailable"}), TransientError),
    (Reply(drop=True), UnknownOutcomeError),
    (Reply(delay=2.5, body=CALL), UnknownOutcomeError),
])
def test_failures_reach_vonage_exactly_once(fake_vonage, vonage_config, reply, error):
    fake_vonage.script(CALLS_PATH, reply, Reply(201, CALL))
    with pytest.raises(error):
        VonageVoiceProvider(vonage_config()).send(_call())
    assert len(fake_vonage.seen(CALLS_PATH)) == 1


def test_unreadable_private_key_is_a_plain_permanent_error(fake_vonage, vonage_config):
    with pytest.raises(PermanentError, match="private key cannot be read"):
        VonageVoiceProvider(vonage_config(private_key="not a key")).send(_call())
    assert fake_vonage.seen() == []
