"""Which provider sends each channel: the simulator by default, Vonage/SMTP once configured."""

import pytest

from core import settings
from core.extensions import db
from core.providers.base import Outgoing, PermanentError
from core.providers.registry import UnconfiguredProvider, describe, get_provider
from core.providers.smtp_email import SmtpEmailProvider
from core.providers.vonage import VonageMmsProvider, VonageSmsProvider, VonageVoiceProvider
from core.simulator.provider import SimulatorProvider
from tests.providers.conftest import APP_ID

VONAGE_ENV = ("VONAGE_API_KEY", "VONAGE_API_SECRET", "VONAGE_APPLICATION_ID",
              "VONAGE_PRIVATE_KEY", "VONAGE_PRIVATE_KEY_PATH", "VONAGE_FROM", "SMTP_HOST")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in VONAGE_ENV:
        monkeypatch.delenv(name, raising=False)


def _store(**values):
    for key, value in values.items():
        settings.set(key, value)
    db.session.commit()


def test_nothing_configured_means_the_simulator_everywhere(app):
    for channel in ("sms", "mms", "voice", "email"):
        assert isinstance(get_provider(channel), SimulatorProvider)
    assert {row.label for row in describe()} == {"Phone simulator"}


def test_settings_page_credentials_choose_vonage(app, rsa_key_pem):
    _store(vonage_api_key="abcd1234", vonage_api_secret="api-secret-4f2a",
           vonage_application_id=APP_ID, vonage_private_key=rsa_key_pem, vonage_from="+15550009999")
    sms = get_provider("sms")
    assert isinstance(sms, VonageSmsProvider)
    assert sms.config.api_secret == "api-secret-4f2a" and sms.config.sender == "+15550009999"
    assert isinstance(get_provider("mms"), VonageMmsProvider)
    assert isinstance(get_provider("voice"), VonageVoiceProvider)
    assert isinstance(get_provider("email"), SimulatorProvider)


def test_environment_credentials_choose_vonage(app, monkeypatch, tmp_path, rsa_key_pem):
    key_file = tmp_path / "private.key"
    key_file.write_text(rsa_key_pem)
    monkeypatch.setenv("VONAGE_API_KEY", "envkey12")
    monkeypatch.setenv("VONAGE_API_SECRET", "env-secret-99")
    monkeypatch.setenv("VONAGE_APPLICATION_ID", APP_ID)
    monkeypatch.setenv("VONAGE_PRIVATE_KEY_PATH", str(key_file))
    voice = get_provider("voice")
    assert isinstance(voice, VonageVoiceProvider)
    assert voice.config.private_key == rsa_key_pem and voice.config.api_key == "envkey12"


def test_a_channel_without_its_credentials_fails_plainly_instead_of_simulating(app):
    """API key only: texts go out through Vonage, but a call cannot — and says why."""
    _store(vonage_api_key="abcd1234", vonage_api_secret="api-secret-4f2a")
    voice = get_provider("voice")
    assert isinstance(voice, UnconfiguredProvider)
    with pytest.raises(PermanentError, match="application id and private key"):
        voice.send(Outgoing(message_id=1, channel="voice", to="+15550001111", body="hi"))
    notes = {row.channel: row for row in describe()}
    assert notes["sms"].live and not notes["voice"].live
    assert "application id" in notes["voice"].note


def test_smtp_host_chooses_smtp_with_the_stored_password(app):
    _store(smtp_host="smtp.example.com", smtp_port=2525, smtp_password="mail pass",
           smtp_from="desk@example.com")
    email = get_provider("email")
    assert isinstance(email, SmtpEmailProvider)
    assert (email.config.port, email.config.password) == (2525, "mail pass")


def test_simulator_mode_overrides_configured_providers(app):
    _store(vonage_api_key="abcd1234", vonage_api_secret="api-secret-4f2a",
           smtp_host="smtp.example.com", delivery_mode="simulator")
    assert all(isinstance(get_provider(c), SimulatorProvider) for c in ("sms", "email"))
