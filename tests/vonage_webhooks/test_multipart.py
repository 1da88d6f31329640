"""Long inbound texts put together by part number: out of order, replayed, a reference reused,
and parts whose siblings never come stored as a partial message by the sweeper."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.messaging.models import Direction, InboundPart, Message
from core.messaging.multipart import PARTIAL_AFTER
from core.messaging.sweeper import sweep
from core.types import utcnow
from tests.vonage_webhooks import payloads as p
from tests.vonage_webhooks.conftest import sign
from tests.vonage_webhooks.test_routes import INBOUND


def _part(client, n: int, text: str, *, ref="1", total=3, sender="447700900001", mid=None):
    """Post part n of a long text (the documented inbound payload), twice, as Vonage signs it."""
    params = sign({**p.INBOUND_REFERENCE, "msisdn": sender, "concat-ref": ref,
                   "concat-total": str(total), "concat-part": str(n), "text": text,
                   "messageId": mid or f"{sender}-{ref}-{n}-{text[:4]}"})
    assert [client.post(INBOUND, data=params).status_code for _ in range(2)] == [200, 200]


def _texts() -> list[str]:
    query = select(Message.body).where(Message.direction == Direction.IN).order_by(Message.id)
    return list(db.session.scalars(query))


def _waiting() -> int:
    query = select(func.count()).select_from(InboundPart).where(InboundPart.closed.is_(False))
    return db.session.scalar(query)


def test_parts_out_of_order_make_one_text(client, signed_webhooks):
    _part(client, 3, "three.")
    _part(client, 1, "One, ")
    assert _texts() == []
    _part(client, 2, "two, ")
    assert _texts() == ["One, two, three."]
    [message] = db.session.scalars(select(Message).where(Message.direction == Direction.IN))
    assert message.provider_id == "447700900001-1-1-One,"
    assert _waiting() == 0


def test_a_part_replayed_after_the_text_was_stored_is_ignored(client, signed_webhooks):
    for n, text in ((1, "A1 "), (2, "A2 "), (3, "A3")):
        _part(client, n, text)
    _part(client, 3, "A3")  # Vonage retries a part it thinks we missed
    assert (_texts(), _waiting()) == (["A1 A2 A3"], 0)


def test_a_reused_reference_starts_a_new_text(client, signed_webhooks):
    for n, text in ((1, "OLD message "), (2, "part two "), (3, "three.")):
        _part(client, n, text)
    _part(client, 1, "NEW message ", mid="new-1")
    _part(client, 3, "three.")  # the old text's last part, replayed: ignored
    _part(client, 3, "JSON part three.", mid="new-3")
    assert _texts() == ["OLD message part two three."]
    _part(client, 2, "part two, ", mid="new-2")
    assert _texts() == ["OLD message part two three.", "NEW message part two, JSON part three."]


def test_a_reused_reference_closes_an_older_unfinished_text(client, signed_webhooks):
    _part(client, 1, "Old one ")
    _part(client, 2, "old two ")  # its part 3 never comes
    _part(client, 1, "New one ", mid="new-1")
    assert _texts() == ["Old one old two […]\n(Partial message: part 3 of 3 never arrived.)"]
    _part(client, 3, "new three", mid="new-3")
    _part(client, 2, "new two ", mid="new-2")
    assert _texts()[-1] == "New one new two new three"


def test_the_same_reference_from_two_senders_never_mixes(client, signed_webhooks):
    _part(client, 1, "Ann ", total=2, sender="447700900001")
    _part(client, 2, "Bob!", total=2, sender="447700900002")
    _part(client, 1, "Bob ", total=2, sender="447700900002")
    _part(client, 2, "Ann!", total=2, sender="447700900001")
    assert sorted(_texts()) == ["Ann Ann!", "Bob Bob!"]


def test_parts_whose_siblings_never_come_are_stored_as_a_partial_message(client, app,
                                                                         signed_webhooks):
    _part(client, 1, "First ", total=4)
    _part(client, 3, "third ", total=4)
    assert sweep()["partial_texts"] == 0  # not yet: the rest may still come
    later = utcnow() + PARTIAL_AFTER + timedelta(seconds=1)
    assert sweep(later)["partial_texts"] == 1
    assert sweep(later).get("partial_texts", 0) == 0
    assert _texts() == ["First […]third […]\n(Partial message: parts 2, 4 of 4 never arrived.)"]
    assert _waiting() == 0
    _part(client, 3, "third ", total=4)  # a replay of a part already stored
    assert _waiting() == 0


@pytest.mark.parametrize("bad", [{"concat-part": "4"}, {"concat-total": "1"},
                                 {"concat-part": "x"}, {"concat-ref": ""}])
def test_a_malformed_part_is_kept_as_a_message_of_its_own(client, signed_webhooks, bad):
    params = sign({**p.INBOUND_REFERENCE, **bad})
    assert client.post(INBOUND, data=params).status_code == 200
    assert _texts() == ["Hello world"]
