"""Fixtures of the delivery pipeline tests (helpers live in delivery_support.py)."""

import pytest

from core.providers import registry
from tests.messaging.delivery_support import ScriptedProvider


@pytest.fixture
def scripted(app, monkeypatch):
    """Route every channel to the ScriptedProvider (work horses fork from this process)."""
    monkeypatch.setattr(registry, "get_provider", lambda channel, values=None: ScriptedProvider())
    return ScriptedProvider


@pytest.fixture
def fast(app):
    """No rate limit and one-second retries, so pipeline tests run in seconds."""
    app.config["PROVIDER_RATE_PER_SECOND"] = 0
    app.config["DELIVERY_BACKOFF_SECONDS"] = (1, 1, 1, 1)
    app.config["SIMULATOR_RECEIPT_DELAY"] = 0
    return app
