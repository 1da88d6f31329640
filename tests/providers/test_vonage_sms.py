"""Vonage SMS through the real SDK against the local HTTPS fake: one request per send, always."""

import socket
from decimal import Decimal

import pytest

from core.providers.base import Outgoing, PermanentError, TransientError, UnknownOutcomeError
from core.providers.vonage import VonageSmsProvider
from tests.fake_vonage import SMS_PATH, Reply, sms_ok, sms_status


def _text(body="Your appointment is tomorrow at 9:00.", **kw) -> Outgoing:
    return Outgoing(message_id=42, channel="sms", to="+15550001111", body=body, **kw)


def test_accepted_text_records_id_segments_price_and_client_ref(fake_vonage, vonage_config):
    """The SMS API's answer becomes the provider id, segment count and price."""
    fake_vonage.script(SMS_PATH, sms_ok(("0A0000001234567B", "0.00790")))
    result = VonageSmsProvider(vonage_config()).send(_text())
    assert result.provider_id == "0A0000001234567B"
    assert result.parts == ("0A0000001234567B",)
    assert (result.segments, result.cost, result.code) == (1, Decimal("0.00790"), "0")
    [request] = fake_vonage.seen(SMS_PATH)
    form = request.form
    assert form["to"] == "15550001111" and form["from"] == "15550009999"
    assert form["client-ref"] == "42" and form["type"] == "text"
    assert form["text"] == "Your appointment is tomorrow at 9:00."
    assert request.basic_auth == ("abcd1234", "api-secret-4f2a")
    assert "api_secret" not in form  # credentials travel in the header, not the body


def test_multipart_text_reports_every_part_and_the_total_price(fake_vonage, vonage_config):
    """A long text: all part ids, their count as segments, the summed price."""
    fake_vonage.script(SMS_PATH, sms_ok(("P1", "0.0079"), ("P2", "0.0079"), ("P3", "0.0079")))
    result = VonageSmsProvider(vonage_config()).send(_text("x" * 400))
    assert result.provider_id == "P1"
    assert result.parts == ("P1", "P2", "P3")
    assert result.segments == 3
    assert result.cost == Decimal("0.0237")
    assert len(fake_vonage.seen()) == 1


def test_emoji_is_sent_as_unicode_and_alphanumeric_sender_as_typed(fake_vonage, vonage_config):
    fake_vonage.script(SMS_PATH, sms_ok(("ID1", "0.0079")))
    VonageSmsProvider(vonage_config(sender="DrLee")).send(_text("See you soon 😊"))
    form = fake_vonage.seen(SMS_PATH)[0].form
    assert form["type"] == "unicode" and form["from"] == "DrLee"


def test_callback_url_points_at_our_receipt_webhook_when_public_url_is_set(fake_vonage,
                                                                           vonage_config):
    fake_vonage.script(SMS_PATH, sms_ok(("ID1", "0.0079")))
    VonageSmsProvider(vonage_config(public_url="https://t.example.com")).send(_text())
    form = fake_vonage.seen(SMS_PATH)[0].form
    assert form["callback"] == "https://t.example.com/webhooks/vonage/sms/receipt"


def test_throttled_status_1_is_transient(fake_vonage, vonage_config):
    """Vonage throttles with HTTP 200 and status 1: retry later, never now."""
    fake_vonage.script(SMS_PATH, sms_status("1", "Throughput Rate Exceeded - please wait"))
    with pytest.raises(TransientError) as caught:
        VonageSmsProvider(vonage_config()).send(_text())
    assert caught.value.code == "1" and "Throughput Rate Exceeded" in caught.value.reason
    assert len(fake_vonage.seen()) == 1


def test_http_429_is_transient_with_retry_after(fake_vonage, vonage_config):
    fake_vonage.script(SMS_PATH, Reply(429, {"title": "Too Many Requests"},
                                       headers={"Retry-After": "2"}))
    with pytest.raises(TransientError) as caught:
        VonageSmsProvider(vonage_config()).send(_text())
    assert caught.value.code == "429" and caught.value.retry_after == 2.0
    assert len(fake_vonage.seen()) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(fake_vonage, vonage_config, status):
    fake_vonage.script(SMS_PATH, Reply(status, {"title": "Internal Server Error"}))
    with pytest.raises(TransientError) as caught:
        VonageSmsProvider(vonage_config()).send(_text())
    assert caught.value.code == str(status)
    assert len(fake_vonage.seen()) == 1


@pytest.mark.parametrize("status,text", [
    ("3", "Invalid Message"), ("4", "Bad Credentials"), ("6", "Unroutable message"),
    ("29", "Non White-listed Destination - rejected"),
])
def test_refusals_are_permanent_with_vonage_words(fake_vonage, vonage_config, status, text):
    fake_vonage.script(SMS_PATH, sms_status(status, text))
    with pytest.raises(PermanentError) as caught:
        VonageSmsProvider(vonage_config()).send(_text())
    assert caught.value.code == status and text in caught.value.reason
    assert len(fake_vonage.seen()) == 1


def test_partially_accepted_multipart_is_permanent_not_resent(fake_vonage, vonage_config):
    """Part 1 went out: retrying would send it twice, so the message fails with the reason."""
    reply = sms_ok(("P1", "0.0079"), ("P2", "0.0079"))
    reply.body["messages"][1].update({"status": "1", "error-text": "Throttled"})
    fake_vonage.script(SMS_PATH, reply)
    with pytest.raises(PermanentError) as caught:
        VonageSmsProvider(vonage_config()).send(_text("y" * 300))
    assert "1 of 2 parts" in caught.value.reason
    assert len(fake_vonage.seen()) == 1


def test_dropped_connection_after_the_request_is_unknown_and_not_retried(fake_vonage,
                                                                          vonage_config):
    """The SDK would re-POST on RemoteDisconnected; ours reaches the server exactly once."""
    fake_vonage.script(SMS_PATH, Reply(drop=True), sms_ok(("SECOND", "0.0079")))
    with pytest.raises(UnknownOutcomeError) as caught:
        VonageSmsProvider(vonage_config()).send(_text())
    assert "may have been sent" in caught.value.reason
    assert len(fake_vonage.seen(SMS_PATH)) == 1


def test_slow_answer_beyond_the_timeout_is_unknown(fake_vonage, vonage_config):
    fake_vonage.script(SMS_PATH, Reply(delay=2.5, body={"message-count": "1", "messages": []}))
    with pytest.raises(UnknownOutcomeError) as caught:
        VonageSmsProvider(vonage_config(timeout=1)).send(_text())
    assert caught.value.code == "timeout"
    assert len(fake_vonage.seen(SMS_PATH)) == 1


def test_connection_refused_before_sending_is_transient(vonage_config):
    """Nothing reached Vonage: safe to retry."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(TransientError) as caught:
        VonageSmsProvider(vonage_config(rest_host=closed)).send(_text())
    assert caught.value.code == "connect"


def test_each_provider_instance_keeps_its_client_and_sends_once_per_message(fake_vonage,
                                                                            vonage_config):
    fake_vonage.script(SMS_PATH, sms_ok(("A", "0.01")), sms_ok(("B", "0.01")))
    provider = VonageSmsProvider(vonage_config())
    assert provider.send(_text()).provider_id == "A"
    assert provider.send(_text()).provider_id == "B"
    assert len(fake_vonage.seen(SMS_PATH)) == 2


def test_missing_sender_refuses_without_calling_vonage(fake_vonage, vonage_config):
    with pytest.raises(PermanentError, match="No sender"):
        VonageSmsProvider(vonage_config(sender="")).send(_text())
    assert fake_vonage.seen() == []


def test_the_rate_limiter_admits_each_request_as_it_leaves(fake_vonage, vonage_config):
    """The hook runs once per request, after the SDK built it and before the server sees it."""
    fake_vonage.script(SMS_PATH, sms_ok(("A", "0.01")), sms_ok(("B", "0.01")))
    provider = VonageSmsProvider(vonage_config())
    seen_at_admission = []
    provider.before_wire = lambda: seen_at_admission.append(len(fake_vonage.seen(SMS_PATH)))
    provider.send(_text())
    provider.send(_text())
    assert seen_at_admission == [0, 1]


def test_a_failed_admission_sends_nothing_and_is_temporary(fake_vonage, vonage_config):
    """A limiter that cannot answer (Redis down) means the text never left: retry it later."""

    def limiter_down():
        raise ConnectionError("Redis is unreachable")

    provider = VonageSmsProvider(vonage_config())
    provider.before_wire = limiter_down
    with pytest.raises(TransientError, match="rate limiter failed"):
        provider.send(_text())
    assert fake_vonage.seen() == []


def test_the_ca_bundle_of_the_environment_is_read_once_and_kept(fake_vonage, vonage_config,
                                                               monkeypatch):
    """The environment is read when the client is made (not per request), and still wins."""
    fake_vonage.script(SMS_PATH, sms_ok(("A", "0.01")), sms_ok(("B", "0.01")))
    provider = VonageSmsProvider(vonage_config())
    assert provider.send(_text()).provider_id == "A"  # trusts the fake's CA from the env
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    assert provider.send(_text()).provider_id == "B"


@pytest.mark.parametrize("public_url,sender,body", [
    ("", "+15550009999", "Your appointment is tomorrow at 9:00."),
    ("https://t.example.com", "DrLee", "See you soon 😊"),
])
def test_the_lean_path_posts_exactly_what_the_sdk_posts(fake_vonage, vonage_config, public_url,
                                                       sender, body):
    """The hot path skips the SDK but not its request: same form, same order, same headers."""
    fake_vonage.script(SMS_PATH, sms_ok(("A", "0.01")), sms_ok(("B", "0.01")))
    provider = VonageSmsProvider(vonage_config(public_url=public_url, sender=sender))
    lean = provider.send(_text(body))
    sdk = provider._send_sdk(_text(body))
    first, second = fake_vonage.seen(SMS_PATH)
    assert first.body == second.body  # byte for byte, field order included
    for header in ("Authorization", "User-Agent", "Accept", "Content-Type"):
        assert first.headers[header] == second.headers[header]
    assert (lean.segments, lean.cost, lean.code) == (sdk.segments, sdk.cost, sdk.code)


def test_an_unreadable_answer_is_an_unknown_outcome_never_a_resend(fake_vonage, vonage_config):
    fake_vonage.script(SMS_PATH, Reply(200, {"message-count": "1", "messages": [{}]}))
    with pytest.raises(UnknownOutcomeError) as caught:
        VonageSmsProvider(vonage_config()).send(_text())
    assert caught.value.code == "unreadable"
    assert len(fake_vonage.seen(SMS_PATH)) == 1


def test_with_a_proxy_configured_texts_go_through_the_sdk(fake_vonage, vonage_config,
                                                         monkeypatch):
    """requests decides per host whether to use a proxy: with one set, the SDK path sends."""
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    fake_vonage.script(SMS_PATH, sms_ok(("A", "0.01")))
    provider = VonageSmsProvider(vonage_config())
    assert provider.send(_text()).provider_id == "A"
    assert provider._wire is None and provider._client is not None
