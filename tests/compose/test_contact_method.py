"""The client's contact method picks the channel: Email gets an email instead of a text, Do
Not Contact is skipped, and a client with no mobile gets email when the send allows it."""

import re

import pytest

from core.auth.models import Role
from core.clients.models import ContactMethod
from core.extensions import db
from core.messaging.compose import create_broadcast
from core.messaging.models import Broadcast, Message
from core.messaging.recipients import count_reachable, plan, summarize
from core.secure import portal as portal_ops
from core.secure.models import SecureMessage
from core.simulator.models import SimMessage
from tests.secure.conftest import secure_on, token_in  # noqa: F401  (a fixture)


def _tick(test_client, *appointments):
    for appointment in appointments:
        test_client.post(f"/appointments/{appointment.id}/select", data={"selected": "1"})


def _people(make_client, make_appointment):
    people = {
        "text": make_client(first_name="Tess"),
        "email": make_client(first_name="Emma", contact_method=ContactMethod.EMAIL),
        "nomobile": make_client(first_name="Noah", mobile=None),
        "dnc": make_client(first_name="Dora", contact_method=ContactMethod.DO_NOT_CONTACT),
        "emailstop": make_client(first_name="Eve", contact_method=ContactMethod.EMAIL,
                                 opted_out=True),
    }
    return people, [make_appointment(client=c) for c in people.values()]


def test_a_mass_text_goes_by_each_clients_contact_method(app, client_for, make_client,
                                                         make_appointment, run_worker):
    editor = client_for(Role.EDIT)
    people, appointments = _people(make_client, make_appointment)
    _tick(editor, *appointments)
    response = editor.post("/compose/", data={
        "recipients": "selected", "channel": "sms", "when": "now", "email_fallback": "y",
        "body": "Hi {{ first_name }}, we are closed today."})
    assert response.status_code == 303
    run_worker()

    broadcast = db.session.scalars(db.select(Broadcast)).one()
    # A mass notice sends one message per client unless "one message per appointment" is ticked.
    assert broadcast.options == {"email_fallback": True, "one_per_client": True,
                                 "category": "transactional"}
    got = {m.client_id: m for m in db.session.scalars(db.select(Message))}
    text, email = got[people["text"].id], got[people["email"].id]
    assert (text.channel, text.to_addr, text.subject) == ("sms", people["text"].mobile, "")
    assert (email.channel, email.to_addr) == ("email", people["email"].email)
    assert email.subject.startswith("Message from ")
    assert got[people["nomobile"].id].channel == "email"
    assert (got[people["dnc"].id].status, got[people["dnc"].id].reason) == (
        "skipped", "Do Not Contact")
    # STOP is about the phone: a client who prefers email still gets the email.
    assert got[people["emailstop"].id].channel == "email"
    assert {m.status for m in got.values() if m.reason != "Do Not Contact"} <= {
        "sent", "delivered"}
    phones = {(s.channel, s.address): s for s in db.session.scalars(db.select(SimMessage))}
    assert ("email", people["email"].email) in phones
    assert ("sms", people["text"].mobile) in phones
    assert ("sms", people["email"].mobile) not in phones


def test_without_the_fallback_a_client_with_no_mobile_is_skipped(app, make_client,
                                                                 make_appointment):
    people, appointments = _people(make_client, make_appointment)
    ids = [a.id for a in appointments]
    draft = Broadcast(channel="sms", subject="", body="Hi", recipients={"appointment_ids": ids})
    rows = {r.client_id: r for r in plan(draft)}
    assert rows[people["nomobile"].id].skip_reason == "No mobile number"
    assert rows[people["email"].id].channel == "email"
    # An automated send allows email by default.
    draft.options = {"automation": {"rule_id": 1}}
    rows = {r.client_id: r for r in plan(draft)}
    assert rows[people["nomobile"].id].channel == "email"


def test_sql_counts_agree_with_the_plan(app, make_client, make_appointment):
    _, appointments = _people(make_client, make_appointment)
    ids = [a.id for a in appointments]
    for fallback in (False, True):
        draft = Broadcast(channel="sms", subject="", body="Hi {{ first_name }}",
                          recipients={"appointment_ids": ids},
                          options={"email_fallback": fallback})
        planned = summarize(plan(draft))
        counted = count_reachable("sms", ids, email_fallback=fallback)
        assert (counted.total, counted.sendable, counted.skipped) == (
            planned.total, planned.sendable, planned.skipped)


def test_the_preview_shows_the_channel_of_each_row(app, client_for, make_client,
                                                   make_appointment):
    editor = client_for(Role.EDIT)
    people, appointments = _people(make_client, make_appointment)
    _tick(editor, *appointments[:2])
    html = editor.post("/compose/preview", data={
        "recipients": "selected", "channel": "sms", "when": "now",
        "body": "Hi {{ first_name }}"}).get_data(as_text=True)
    rows = re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", html, re.S)
    assert "Text (SMS)" in rows[0] and people["text"].mobile[-4:] in rows[0]
    assert "Email" in rows[1] and people["email"].email in rows[1]
    assert "Message from" in rows[1]
    assert "By email: 1, text (sms): 1." in html


@pytest.mark.usefixtures("secure_on")
def test_a_secure_text_reaches_a_client_who_prefers_email_by_the_email_notice(
        make_user, make_client, run_worker):
    emma = make_client(first_name="Emma", contact_method=ContactMethod.EMAIL)
    tess = make_client(first_name="Tess")
    for person in (emma, tess):
        create_broadcast(actor=make_user(), channel="sms", recipients={"client_id": person.id},
                         body="Private note.", secure={"pin": ""})
    run_worker(queues=["high", "default"])
    rows = {r.client_id: r for r in db.session.scalars(db.select(SecureMessage))}
    assert (rows[emma.id].channel, rows[emma.id].to_addr) == ("email", emma.email)
    assert (rows[tess.id].channel, rows[tess.id].to_addr) == ("sms", tess.mobile)
    notice = db.session.scalars(db.select(SimMessage).where(
        SimMessage.address == emma.email, SimMessage.incoming.is_(True))).one()
    assert notice.channel == "email" and notice.subject and token_in(notice.body)
    assert "Private note." not in notice.body
    assert portal_ops.read(rows[emma.id])["body"] == "Private note."
