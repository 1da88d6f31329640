"""Every outgoing message carries its category: Compose asks, rules are transactional,
conversation replies are direct, and a client's own text counts as direct."""

import pytest
from sqlalchemy import select

from core.auth.models import Role
from core.conversations.operations import reply
from core.extensions import db
from core.messaging.models import Direction, Message
from core.simulator.operations import send_reply
from core.types import utcnow


@pytest.fixture
def editor(client_for):
    return client_for(Role.EDIT)


def _categories(direction=Direction.OUT) -> list[str]:
    query = select(Message.category).where(Message.direction == direction).order_by(Message.id)
    return list(db.session.scalars(query))


def _send(editor, person, **extra):
    data = {"recipients": "person", "channel": "sms", "body": "Hi", "when": "now",
            "client_id": person.id, **extra}
    assert editor.post("/compose/", data=data).status_code == 303


def test_compose_offers_the_categories_with_their_explanations(editor):
    page = editor.get("/compose/").text
    assert 'name="category" value="transactional"' in page and "checked" in page
    assert "Marketing: promotions, offers, newsletters" in page


def _noon_zone() -> str:
    """A fixed-offset zone where it is about noon now (marketing keeps 08:00–21:00 strictly)."""
    offset = 12 - utcnow().hour  # Etc/GMT-N is N hours ahead of UTC
    return f"Etc/GMT{-offset:+d}" if offset else "UTC"


def test_a_compose_send_is_transactional_unless_marked_marketing(editor, make_client,
                                                                 run_worker):
    ann = make_client(marketing_consent=True, timezone=_noon_zone())
    _send(editor, ann)
    _send(editor, ann, category="marketing")
    _send(editor, ann, category="direct")  # not a Compose choice: transactional
    run_worker()
    assert _categories() == ["transactional", "marketing", "transactional"]


def test_a_conversation_reply_is_direct_and_the_clients_text_too(app, make_client, make_user,
                                                                 run_worker):
    ann = make_client(mobile="+12025550001")
    send_reply(ann.mobile, "Can I come at 4?")
    run_worker()
    reply(ann.id, "Yes, see you at 4.", actor=make_user(Role.EDIT))
    run_worker()
    assert _categories(Direction.IN) == ["direct"]
    assert _categories() == ["direct"]
