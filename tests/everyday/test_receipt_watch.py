"""The mass-send page keeps watching until every message is final, or until receipts stop coming
for RECEIPT_WAIT_SECONDS, and then says so instead of going quiet at "Sent 51 / Delivered 2"."""

import re
from datetime import timedelta

import pytest

from core.auth.models import Role
from core.extensions import db
from core.messaging.models import Broadcast, Message, Status
from core.messaging.receipts import apply_receipt
from core.simulator.tasks import deliver_receipt
from core.types import utcnow

HX = {"HX-Request": "true"}


@pytest.fixture
def editor(client_for):
    return client_for(Role.EDIT)


def _send_to(editor, people, run_worker) -> Broadcast:
    """A mass notice to the clients' appointments, fanned out and sent (no receipt yet)."""
    for person in people:
        editor.post(f"/appointments/{person['appointment'].id}/select", data={"selected": "1"})
    response = editor.post("/compose/", data={"recipients": "selected",
                                              "channel": "sms", "when": "now",
                                              "body": "We are closed today."})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    run_worker()
    return db.session.scalars(db.select(Broadcast)).one()


@pytest.fixture
def three(make_client, make_appointment):
    people = []
    for name in ("Ada", "Ben", "Cy"):
        client = make_client(first_name=name)
        people.append({"client": client, "appointment": make_appointment(client=client)})
    return people


def _box(editor, broadcast, **query) -> str:
    return editor.get(f"/compose/broadcast/{broadcast.id}/progress", headers=HX,
                      query_string=query).get_data(as_text=True)


def _poll_url(box: str) -> dict:
    """The query the box will poll with next (the counts it saw and when they changed)."""
    url = re.search(r'hx-get="([^"]+)"', box).group(1).replace("&amp;", "&")
    return dict(part.split("=", 1) for part in url.split("?", 1)[1].split("&"))


def _messages() -> list[Message]:
    return list(db.session.scalars(db.select(Message).order_by(Message.id)))


def test_polling_goes_on_until_the_last_receipt_then_stops(editor, three, run_worker):
    broadcast = _send_to(editor, three, run_worker)
    first, second, third = _messages()
    assert {m.status for m in (first, second, third)} == {Status.SENT}

    box = _box(editor, broadcast)
    assert "Waiting for delivery receipts: 3 messages still without one" in box
    assert 'data-polling="yes"' in box

    deliver_receipt(first.provider_id)
    apply_receipt(provider="simulator", provider_id=second.provider_id, status="failed",
                  code="1", detail="Unknown subscriber")
    box = _box(editor, broadcast, **_poll_url(box))
    assert "1 message still without one" in box and 'data-polling="yes"' in box
    assert 'class="count-delivered">1<' in box and 'class="count-failed">1<' in box

    deliver_receipt(third.provider_id)
    box = _box(editor, broadcast, **_poll_url(box))
    assert "every message has its final state" in box
    assert "hx-get" not in box and 'data-polling="no"' in box
    assert 'class="count-delivered">2<' in box
    # The state goes out of band into the summary; no stray "Status" label below the box.
    assert 'id="broadcast-state" hx-swap-oob="true"' in box and "<dt>Status</dt>" not in box


def test_when_receipts_stop_coming_the_page_stops_and_says_so(app, editor, three, run_worker):
    app.config["RECEIPT_WAIT_SECONDS"] = 120
    broadcast = _send_to(editor, three, run_worker)
    first, *_ = _messages()
    deliver_receipt(first.provider_id)
    box = _box(editor, broadcast)
    assert 'data-polling="yes"' in box  # the last receipt came just now

    # Three minutes on, nothing else came: the box stops polling and tells the reader why.
    long_ago = utcnow() - timedelta(minutes=3)
    db.session.execute(db.update(Message).values(sent_at=long_ago, delivered_at=None))
    db.session.execute(db.update(Message).where(Message.status == Status.DELIVERED)
                       .values(delivered_at=long_ago))
    db.session.commit()
    query = _poll_url(box)
    query["since"] = str(int(long_ago.timestamp()))
    box = _box(editor, broadcast, **query)
    assert "No delivery receipt for 2 minutes: 2 messages still without one" in box
    assert "stopped checking" in box
    assert "hx-get" not in box and 'data-polling="no"' in box
    # A reload of the quiet send does not start watching again.
    page = editor.get(f"/compose/broadcast/{broadcast.id}").get_data(as_text=True)
    assert "stopped checking" in page and 'data-polling="no"' in page


def test_a_receipt_that_leaves_no_timestamp_still_restarts_the_wait(app, editor, three,
                                                                    run_worker):
    broadcast = _send_to(editor, three, run_worker)
    long_ago = utcnow() - timedelta(minutes=5)
    db.session.execute(db.update(Message).values(sent_at=long_ago))
    db.session.commit()
    box = _box(editor, broadcast)
    assert "stopped checking" in box  # quiet for five minutes on arrival

    # The box saw three waiting; a failure receipt (which sets no time) changes the counts.
    first, *_ = _messages()
    apply_receipt(provider="simulator", provider_id=first.provider_id, status="failed",
                  code="1", detail="Unknown subscriber")
    counts_before = "3-0-0-0"
    box = _box(editor, broadcast, seen=counts_before, since=str(int(long_ago.timestamp())))
    assert 'data-polling="yes"' in box and "2 messages still without one" in box


def test_email_by_smtp_is_final_when_sent(app, editor, three, run_worker):
    broadcast = _send_to(editor, three, run_worker)
    db.session.execute(db.update(Message).values(provider="smtp"))  # SMTP sends no receipts
    db.session.commit()
    box = _box(editor, broadcast)
    assert "every message has its final state" in box and "hx-get" not in box
