"""A mass send larger than COMPOSE_SYNC_PLAN_LIMIT is counted in the request and planned by
the fan-out job: the send answers at once, and each recipient still ends queued or skipped
for its reason."""

import pytest
from sqlalchemy import select

from core.auth.models import Role
from core.clients.models import ContactMethod
from core.extensions import db
from core.messaging import tasks
from core.messaging.compose import ComposeError, create_broadcast
from core.messaging.models import Broadcast, Message


@pytest.fixture
def small_limit(app):
    before = app.config["COMPOSE_SYNC_PLAN_LIMIT"]
    app.config["COMPOSE_SYNC_PLAN_LIMIT"] = 3
    yield
    app.config["COMPOSE_SYNC_PLAN_LIMIT"] = before


def _send(make_user, ids, body="Hi {{ first_name }}", channel="sms"):
    return create_broadcast(actor=make_user(Role.EDIT), channel=channel, subject="Notice",
                            body=body, recipients={"appointment_ids": ids})


def _outcome(broadcast_id: int) -> dict[str, tuple[str, str]]:
    rows = db.session.execute(select(Message.to_addr, Message.status, Message.reason)
                              .where(Message.broadcast_id == broadcast_id)).all()
    return {to: (status, reason) for to, status, reason in rows}


def test_a_large_send_counts_in_sql_and_the_fan_out_skips_each_for_its_reason(
        app, small_limit, make_user, make_client, make_appointment):
    fine = [make_client(first_name=f"Ok{i}", mobile=f"+1202555010{i}") for i in range(3)]
    stopped = make_client(mobile="+12025550120", opted_out=True)
    landline = make_client(mobile="+442071838750")
    wordy = make_client(first_name="W" * 40, mobile="+12025550121")
    people = [*fine, stopped, landline, wordy]
    ids = [make_appointment(client=c).id for c in people]
    body = "x" * 1580 + "{{ first_name }}"  # too long for the 40-letter name only

    broadcast = _send(make_user, ids, body=body)
    assert broadcast.total == 6  # counted in SQL, without planning each one
    tasks.fan_out(broadcast.id)

    outcome = _outcome(broadcast.id)
    assert {outcome[c.mobile][0] for c in fine} == {"queued"}
    assert outcome[stopped.mobile] == ("skipped", "Opted out")
    assert outcome[landline.mobile] == ("skipped", "Landline cannot receive texts")
    assert outcome[wordy.mobile] == ("skipped", "Too long once merged")


def test_a_large_send_no_one_can_receive_is_refused_at_once(
        app, small_limit, make_user, make_client, make_appointment):
    ids = [make_appointment(client=make_client(opted_out=True)).id for _ in range(3)]
    dnc = make_client(contact_method=ContactMethod.DO_NOT_CONTACT.value)
    ids.append(make_appointment(client=dnc).id)
    with pytest.raises(ComposeError, match=r"No one can receive this \(.*opted out: 3"):
        _send(make_user, ids)
    assert db.session.scalar(select(db.func.count()).select_from(Broadcast)) == 0


def test_a_large_send_whose_first_recipients_merge_too_long_is_refused(
        app, small_limit, make_user, make_client, make_appointment):
    ids = [make_appointment(client=make_client(first_name="Bartholomew")).id for _ in range(4)]
    with pytest.raises(ComposeError, match="1,601 characters once merged"):
        _send(make_user, ids, body="x" * 1590 + "{{ first_name }}")


def test_email_to_opted_out_clients_still_goes_in_a_large_send(
        app, small_limit, make_user, make_client, make_appointment):
    people = [make_client(email=f"p{i}@example.com", opted_out=True) for i in range(4)]
    broadcast = _send(make_user, [make_appointment(client=c).id for c in people], channel="email")
    tasks.fan_out(broadcast.id)
    assert {s for s, _ in _outcome(broadcast.id).values()} == {"queued"}
