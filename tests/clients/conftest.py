"""Client fixtures: the browser fixtures (test_timezones.py)."""

from tests.browser.conftest import (  # noqa: F401
    browser_context_args,
    browser_type_launch_args,
    live_server,
    signed_in,
)
