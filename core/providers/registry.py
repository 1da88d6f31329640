"""Which provider sends which channel: Vonage and SMTP when configured, else the simulator.

Credentials come from the Settings page, else the environment (VONAGE_API_KEY,
VONAGE_API_SECRET, VONAGE_APPLICATION_ID, VONAGE_PRIVATE_KEY_PATH, VONAGE_FROM, SMTP_HOST...).
With no Vonage credentials at all, texts and calls go to the phone simulator. With some but
not those a channel needs (a call without an application id), that channel fails with a plain
reason instead of pretending to send through the simulator.
"""

from dataclasses import dataclass

from core import settings
from core.providers.base import Outgoing, PermanentError, Provider
from core.providers.smtp_email import SmtpConfig, SmtpEmailProvider
from core.providers.vonage import (
    VonageConfig,
    VonageMmsProvider,
    VonageSmsProvider,
    VonageVoiceProvider,
)

VONAGE_CHANNELS = ("sms", "mms", "voice")
NEEDS = {
    "sms": "the Vonage API key and secret",
    "mms": "the Vonage API key and secret, or an application id and private key",
    "voice": "a Vonage application id and private key",
}


class UnconfiguredProvider:
    """Refuses every message with the reason the channel cannot send."""

    name = "vonage"

    def __init__(self, reason: str):
        self.reason = reason

    def send(self, message: Outgoing):
        """Fail at once: no retry can fix missing credentials."""
        raise PermanentError(self.reason, "config")


def vonage_config(values: dict | None = None) -> VonageConfig:
    """The Vonage settings as one object (hosts and timeout come from config/env only)."""
    v = values if values is not None else settings.snapshot()
    return VonageConfig(
        api_key=v["vonage_api_key"],
        api_secret=v["vonage_api_secret"],
        application_id=v["vonage_application_id"],
        private_key=v["vonage_private_key"],
        sender=v["vonage_from"],
        voice_from=v["vonage_voice_from"],
        public_url=v["public_url"],
        api_host=settings.config_value("VONAGE_API_HOST") or "api.nexmo.com",
        rest_host=settings.config_value("VONAGE_REST_HOST") or "rest.nexmo.com",
        timeout=int(settings.config_value("VONAGE_TIMEOUT") or 10),
        voice_language=settings.config_value("VONAGE_VOICE_LANGUAGE") or "en-US",
    )


def smtp_config(values: dict | None = None) -> SmtpConfig | None:
    """The SMTP relay, or None when no host is set."""
    v = values if values is not None else settings.snapshot()
    if not v["smtp_host"]:
        return None
    return SmtpConfig(
        host=v["smtp_host"],
        port=v["smtp_port"],
        security=v["smtp_security"],
        username=v["smtp_username"],
        password=v["smtp_password"],
        sender=v["smtp_from"],
        sender_name=v["smtp_from_name"] or settings.business_name(),
        timeout=float(settings.config_value("SMTP_TIMEOUT") or 20),
    )


def _vonage_for(channel: str, config: VonageConfig):
    """The Vonage provider for a channel, or None when its credentials are missing."""
    if channel == "sms" and config.has_key:
        return VonageSmsProvider(config)
    if channel == "mms" and (config.has_key or config.has_application):
        return VonageMmsProvider(config)
    if channel == "voice" and config.has_application:
        return VonageVoiceProvider(config)
    return None


def get_provider(channel: str, values: dict | None = None) -> Provider:
    """The provider for `channel` (sms, mms, email, voice); a new instance each call.
    `values` is a settings.snapshot() already taken (a delivery job takes one for all its
    senders); by default the settings are read now."""
    from core.simulator.provider import SimulatorProvider

    values = settings.snapshot() if values is None else values
    if values["delivery_mode"] == "simulator":
        return SimulatorProvider()
    if channel in VONAGE_CHANNELS:
        config = vonage_config(values)
        provider = _vonage_for(channel, config)
        if provider is not None:
            return provider
        if config.api_key or config.application_id:
            return UnconfiguredProvider(f"Sending by {channel.upper()} needs {NEEDS[channel]} "
                                        "(Settings page).")
    elif channel == "email":
        smtp = smtp_config(values)
        if smtp is not None:
            return SmtpEmailProvider(smtp)
    return SimulatorProvider()


@dataclass(frozen=True)
class ChannelStatus:
    """How one channel is sent right now, for the Settings page."""

    channel: str
    label: str
    live: bool
    note: str = ""


def describe() -> list[ChannelStatus]:
    """Per channel: which provider sends it and, when it cannot, what is missing."""
    values = settings.snapshot()
    if values["delivery_mode"] == "simulator":
        note = "Simulator mode is on: nothing leaves Tidings."
        channels = (*VONAGE_CHANNELS, "email")
        return [ChannelStatus(c, "Phone simulator", False, note) for c in channels]
    config = vonage_config(values)
    rows = []
    for channel in VONAGE_CHANNELS:
        if _vonage_for(channel, config) is not None:
            rows.append(ChannelStatus(channel, "Vonage", True))
        elif config.api_key or config.application_id:
            rows.append(ChannelStatus(channel, "Not configured", False, f"Needs {NEEDS[channel]}."))
        else:
            rows.append(ChannelStatus(channel, "Phone simulator", False))
    if smtp_config(values) is not None:
        rows.append(ChannelStatus("email", f"SMTP ({values['smtp_host']})", True))
    else:
        rows.append(ChannelStatus("email", "Phone simulator", False))
    return rows
