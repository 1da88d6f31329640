"""Usage fixtures: the mailbox's message factory (rows inserted as the pipeline would)."""

from tests.mailbox.conftest import make_message  # noqa: F401
