"""Bulk writes: every row lands with its own values, and ids come back in the rows' order."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import Integer, delete, func, select

from core.bulk import bound, id_in, insert_prepared, int_array, is_postgresql, prepare
from core.extensions import db
from core.messaging.models import Message, MessageEvent

MESSAGES, EVENTS = Message.__table__, MessageEvent.__table__
AT = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
NAMES = ("channel", "to_addr", "body", "status", "created_at", "send_at", "appointment_id")


def _messages(n: int, start: int = 0, body: str | None = None) -> list[tuple]:
    at = bound(MESSAGES, "created_at", AT)
    return [("sms", f"+1202555{start + i:04d}", body or f"Text {start + i}", "queued", at, at,
             None) for i in range(n)]


def _insert(table, names, rows, with_ids=False) -> list[int]:
    return insert_prepared(prepare(table, names, rows, with_ids=with_ids))


def test_ids_come_back_in_the_order_of_the_rows(app):
    _insert(MESSAGES, NAMES, _messages(3))  # rows from before, then a gap at the end
    db.session.execute(delete(Message).where(Message.to_addr == "+12025550002"))
    db.session.commit()

    rows = _messages(250, start=100)
    ids = _insert(MESSAGES, NAMES, rows, with_ids=True)
    db.session.commit()

    stored = {m.id: m for m in db.session.scalars(select(Message).where(id_in(Message.id, ids)))}
    assert len(set(ids)) == 250 and len(stored) == 250
    for message_id, row in zip(ids, rows, strict=True):
        message = stored[message_id]
        assert (message.to_addr, message.body) == (row[1], row[2])
        # Column defaults and the UTC conversion apply as with an INSERT.
        assert message.created_at == AT and message.attempts == 0 and message.from_addr == ""


def test_rows_carry_nulls_and_text_that_needs_escaping(app):
    awkward = 'Tab\there, "quotes", back\\slash, new\nline, comma, ✓ and \\N'
    [message_id] = _insert(MESSAGES, NAMES, _messages(1, body=awkward), with_ids=True)
    _insert(EVENTS, ("message_id", "status", "at", "code", "detail"),
            [(message_id, "queued", bound(EVENTS, "at", AT), "", awkward)])
    db.session.commit()

    message = db.session.get(Message, message_id)
    assert message.body == awkward and message.appointment_id is None and message.sent_at is None
    assert db.session.scalar(select(MessageEvent.detail)) == awkward


def test_a_column_whose_default_is_computed_per_row_must_be_given(app):
    names = [name for name in NAMES if name != "created_at"]
    with pytest.raises(ValueError, match="created_at"):
        prepare(MESSAGES, names, [("sms", "+12025550000", "x", "queued", None, None)])


def test_a_long_id_list_travels_as_one_array(app):
    if not is_postgresql():
        pytest.skip("SQLite takes IN lists")
    ids = list(range(1, 20_001))
    among = func.unnest(int_array(ids, Integer)).table_valued("id").render_derived("among")
    assert db.session.scalar(select(func.count(), func.sum(among.c.id))) == 20_000
    assert db.session.execute(select(func.sum(among.c.id))).scalar() == sum(ids)
