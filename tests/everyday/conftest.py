"""Issue 15 fixtures: the browser fixtures and the mailbox's message factory."""

from tests.browser.conftest import (  # noqa: F401  (the browser fixtures)
    browser_context_args,
    browser_type_launch_args,
    live_server,
    signed_in,
)
from tests.mailbox.conftest import make_message  # noqa: F401
from tests.secure.conftest import secure_on  # noqa: F401
