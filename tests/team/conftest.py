"""Fixtures of the staff-chat tests: signed-in staff and their chats."""

import pytest

from core.auth.models import Role
from core.extensions import db
from core.team import operations
from tests.browser.conftest import (  # noqa: F401
    browser_context_args,
    browser_type_launch_args,
    live_server,
    signed_in,
)


@pytest.fixture
def staff(client_for):
    """Factory: staff(Role.EDIT, name="Ann Lee") -> a signed-in test client (`.user`)."""

    def make(role=Role.EDIT, name=None):
        http = client_for(role)
        if name:
            http.user.name = name
            db.session.commit()
        return http

    return make


@pytest.fixture
def group(app):
    """Factory: group(creator, [users], name) -> a committed group chat."""

    def make(creator, users, name="Front desk"):
        chat = operations.create_group(creator, name, users)
        db.session.commit()
        return chat

    return make
