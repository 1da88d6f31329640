"""Fixtures of the provider tests: the fake Vonage server and a config pointing at it."""

import pytest

from core.providers.vonage import VonageConfig
from tests.fake_vonage import fake_vonage, rsa_key_pem, vonage_ca  # noqa: F401  (fixtures)

APP_ID = "aaaaaaaa-bbbb-cccc-dddd-123456789abc"


@pytest.fixture
def vonage_config(fake_vonage, rsa_key_pem):  # noqa: F811
    """Factory: a VonageConfig for the fake server (1 s timeout), with overrides."""

    def make(**overrides) -> VonageConfig:
        values = {
            "api_key": "abcd1234", "api_secret": "api-secret-4f2a", "application_id": APP_ID,
            "private_key": rsa_key_pem, "sender": "+15550009999", "api_host": fake_vonage.host,
            "rest_host": fake_vonage.host, "timeout": 1,
        }
        values.update(overrides)
        return VonageConfig(**values)

    return make
