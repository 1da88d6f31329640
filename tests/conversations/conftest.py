"""Conversations fixtures: the browser fixtures (test_browser.py) and Vonage's signing secret
(test_webhooks.py)."""

from tests.browser.conftest import (  # noqa: F401
    browser_context_args,
    browser_type_launch_args,
    live_server,
    signed_in,
)
from tests.vonage_webhooks.conftest import signed_webhooks  # noqa: F401
