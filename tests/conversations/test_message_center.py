"""The Message Center (Outbox): the client's response beside each text, and response filters."""

from sqlalchemy import select

from core.auth.models import Role
from core.extensions import db
from core.messaging.models import Direction, Message
from core.simulator.operations import send_reply

HX = {"HX-Request": "true"}


def _outbox(http, query=""):
    return http.get(f"/messages/outbox?{query}", headers=HX).get_data(as_text=True)


def _sent(person):
    return db.session.scalar(select(Message).where(Message.direction == Direction.OUT,
                                                   Message.client_id == person.id,
                                                   Message.body == "Reminder for you"))


def test_response_column_and_filters(client_for, make_client, make_appointment, run_worker):
    ann = make_client(first_name="Ann", last_name="Lee", company="Acme", mobile="+12025550001")
    bob = make_client(first_name="Bob", last_name="Stone", mobile="+12025550002")
    cat = make_client(first_name="Cat", last_name="Wu", mobile="+12025550003")
    make_appointment(client=bob, job_number="J-4711", status="completed")
    http = client_for(Role.EDIT)
    for person in (ann, bob, cat):
        http.post(f"/conversations/{person.id}/reply", data={"body": "Reminder for you"})
    run_worker()
    send_reply(ann.mobile, "what is this")
    send_reply(cat.mobile, "STOP")
    run_worker()

    page = _outbox(http)
    row = page[page.index(f'id="message-{_sent(ann).id}"'):]
    row = row[:row.index("</tr>")]
    assert "Reminder for you" in row and "what is this" in row  # the reply beside the original
    assert "Response" in page and 'name="response"' in http.get("/messages/outbox").get_data(
        as_text=True)

    def names(query):
        html = _outbox(http, query)
        return {p.first_name for p in (ann, bob, cat)
                if f'id="message-{_sent(p).id}"' in html}

    assert names("response=responded") == {"Ann", "Cat"}
    assert names("response=not_responded") == {"Bob"}
    assert names("response=unrecognised") == {"Ann"}
    assert names("response=opted_out") == {"Cat"}
    assert names("q=acme") == {"Ann"}
    assert names("q=J-4711") == set()  # Bob's reply is not about that appointment
    assert names("q=Stone") == {"Bob"}
    assert names("q=202-555-0003") == {"Cat"}
    assert http.get("/messages/outbox?response=bogus", headers=HX).status_code == 422


def test_a_later_text_takes_the_response_from_the_earlier_one(client_for, make_client,
                                                             run_worker):
    ann = make_client(first_name="Ann", last_name="Lee", mobile="+12025550001")
    http = client_for(Role.EDIT)
    http.post(f"/conversations/{ann.id}/reply", data={"body": "Reminder for you"})
    run_worker()
    send_reply(ann.mobile, "ok thanks")
    run_worker()  # also answers "You're welcome!", an automatic text without a broadcast
    http.post(f"/conversations/{ann.id}/reply", data={"body": "Second note"})
    run_worker()
    page = _outbox(http, "response=not_responded")
    assert "Second note" in page and "Reminder for you" not in page
    assert "ok thanks" in _outbox(http, "response=responded")
