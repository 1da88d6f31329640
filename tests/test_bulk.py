"""Bulk writes: every row lands with its own values, and ids come back in the rows' order."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select

from core.bulk import id_in, insert_rows
from core.extensions import db
from core.messaging.models import Message, MessageEvent

MESSAGES, EVENTS = Message.__table__, MessageEvent.__table__
AT = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)


def _messages(n: int, start: int = 0) -> list[dict]:
    return [{"channel": "sms", "to_addr": f"+1202555{start + i:04d}", "body": f"Text {start + i}",
             "status": "queued", "created_at": AT, "send_at": AT, "appointment_id": None}
            for i in range(n)]


def test_ids_come_back_in_the_order_of_the_rows(app):
    insert_rows(MESSAGES, _messages(3))  # rows from before, then a gap at the end
    db.session.execute(delete(Message).where(Message.to_addr == "+12025550002"))
    db.session.commit()

    rows = _messages(250, start=100)
    ids = insert_rows(MESSAGES, rows, with_ids=True)
    db.session.commit()

    stored = {m.id: m for m in db.session.scalars(select(Message).where(id_in(Message.id, ids)))}
    assert len(set(ids)) == 250 and len(stored) == 250
    for message_id, row in zip(ids, rows, strict=True):
        message = stored[message_id]
        assert (message.to_addr, message.body) == (row["to_addr"], row["body"])
        # Column defaults and the UTC conversion apply as with an INSERT.
        assert message.created_at == AT and message.attempts == 0 and message.from_addr == ""


def test_rows_carry_nulls_and_text_that_needs_escaping(app):
    awkward = 'Tab\there, "quotes", back\\slash, new\nline, comma, ✓ and \\N'
    [message_id] = insert_rows(MESSAGES, [dict(_messages(1)[0], body=awkward)], with_ids=True)
    insert_rows(EVENTS, [{"message_id": message_id, "status": "queued", "at": AT, "code": "",
                          "detail": awkward}])
    db.session.commit()

    message = db.session.get(Message, message_id)
    assert message.body == awkward and message.appointment_id is None and message.sent_at is None
    assert db.session.scalar(select(MessageEvent.detail)) == awkward


def test_a_column_whose_default_is_computed_per_row_must_be_given(app):
    rows = [{k: v for k, v in row.items() if k != "created_at"} for row in _messages(1)]
    with pytest.raises(ValueError, match="created_at"):
        insert_rows(MESSAGES, rows)
