"""Fixtures of the settings tests: the fake Vonage server and an RSA key."""

from tests.fake_vonage import fake_vonage, rsa_key_pem, vonage_ca  # noqa: F401  (fixtures)
