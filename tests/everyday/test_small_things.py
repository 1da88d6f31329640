"""Issue 15's small things where a user would notice them: Text this client, In reply to, one
"Reply"."""

import pytest

from core.auth.models import Role
from core.extensions import db
from core.messaging.models import Broadcast, Message


@pytest.fixture
def editor(client_for):
    return client_for(Role.EDIT)


def test_text_this_client_from_the_client_card(app, editor, make_client):
    ann = make_client(first_name="Ann")
    card = editor.get(f"/clients/{ann.id}").get_data(as_text=True)
    assert f'href="/compose/?client_id={ann.id}">Text this client</a>' in card
    page = editor.get(f"/compose/?client_id={ann.id}").get_data(as_text=True)
    assert f'name="client_id" value="{ann.id}"\n    checked' in page or \
        f'value="{ann.id}"' in page and "checked" in page


def test_text_this_client_from_an_appointment_uses_its_merge_fields(app, editor, make_client,
                                                                   make_appointment, run_worker):
    ann = make_client(first_name="Ann")
    visit = make_appointment(client=ann, title="Boiler service")
    detail = editor.get(f"/appointments/{visit.id}").get_data(as_text=True)
    link = f"/compose/?client_id={ann.id}&amp;appointment_id={visit.id}"
    assert f'href="{link}">Text this client</a>' in detail
    page = editor.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert f'name="appointment_id" type="hidden" value="{visit.id}"' in page
    response = editor.post("/compose/", data={
        "recipients": "person", "client_id": str(ann.id), "appointment_id": str(visit.id),
        "channel": "sms", "when": "now", "body": "Hi {{ first_name }}, about {{ service }}"})
    assert response.status_code == 303
    run_worker()
    message = db.session.scalars(db.select(Message)).one()
    assert message.appointment_id == visit.id and message.body == "Hi Ann, about Boiler service"


def test_an_appointment_of_another_client_is_ignored(app, editor, make_client, make_appointment):
    ann, ben = make_client(first_name="Ann"), make_client(first_name="Ben")
    visit = make_appointment(client=ann)
    response = editor.post("/compose/", data={
        "recipients": "person", "client_id": str(ben.id), "appointment_id": str(visit.id),
        "channel": "sms", "when": "now", "body": "Hi {{ first_name }}"})
    assert response.status_code == 303
    assert db.session.scalars(db.select(Broadcast)).one().recipients == {"client_id": ben.id}


def test_the_inbox_column_reads_in_reply_to(app, client_for, make_client):
    ann = make_client()
    db.session.add(Message(direction="in", channel="sms", to_addr="+12025550000",
                           from_addr=ann.mobile, body="Hi", status="received", client_id=ann.id))
    db.session.commit()
    html = client_for(Role.READ_ONLY).get("/messages/inbox").get_data(as_text=True)
    assert "<th>In reply to</th>" in html


def test_the_reply_form_says_reply_once(app, editor, make_client):
    ann = make_client()
    html = editor.get(f"/conversations/{ann.id}").get_data(as_text=True)
    reply = html[html.index("<h2>Reply</h2>"):html.index("</form>", html.index("<h2>Reply</h2>"))]
    # The heading names the box; its label is there for screen readers only.
    assert 'class="field label-hidden' in reply
    assert reply.count(">Reply<") == 2  # the heading and the hidden label, nothing else


def test_only_people_who_can_reply_are_offered_as_assignees(app, editor, make_client, make_user):
    from core.conversations.queries import staff

    can = {make_user(Role.EDIT).id, make_user(Role.ADMIN).id}
    cannot = {make_user(Role.READ_ONLY).id, make_user(Role.NONE).id}
    offered = {u.id for u in staff()}
    assert can <= offered and not cannot & offered
    html = editor.get(f"/conversations/{make_client().id}").get_data(as_text=True)
    for user_id in cannot:
        assert f'<option value="{user_id}"' not in html


def test_our_last_text_says_plainly_when_it_never_went(app, editor, make_client):
    ann = make_client(first_name="Ann")
    notice = Broadcast(channel="sms", body="Closed Friday", total=2, status="sent")
    db.session.add(notice)
    db.session.commit()
    db.session.add_all([
        Message(direction="out", channel="sms", to_addr=ann.mobile, from_addr="+12025550000",
                body="Closed Friday", status="skipped", reason="Do Not Contact",
                client_id=ann.id, broadcast_id=notice.id),
        Message(direction="in", channel="sms", to_addr="+12025550000", from_addr=ann.mobile,
                body="Why?", status="received", client_id=ann.id),
    ])
    db.session.commit()
    html = editor.get("/conversations/").get_data(as_text=True)
    assert "Closed Friday" in html and "Not sent: Do Not Contact" in html
