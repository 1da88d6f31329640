"""The compose pages: counter, preview, sending, progress, scheduled sends, the client picker."""

import io
import re
from datetime import timedelta

import pytest

from core.auth.models import Role
from core.extensions import db
from core.messaging.compose import to_local
from core.messaging.models import Broadcast, Message
from core.simulator.tasks import deliver_receipt
from core.types import utcnow
from tests.compose.files import png


@pytest.fixture
def editor(client_for):
    return client_for(Role.EDIT)


def _select(test_client, *appointments):
    """Tick appointments on the Appointments page, as a person would."""
    for appointment in appointments:
        response = test_client.post(f"/appointments/{appointment.id}/select",
                                    data={"selected": "1"})
        assert response.status_code in (200, 303)


def _form(**kw):
    data = {"recipients": "person", "channel": "sms", "body": "Hi {{ first_name }}",
            "when": "now"}
    data.update(kw)
    return data


def test_the_form_offers_the_selected_appointments_and_merge_fields(app, editor,
                                                                    make_appointment):
    _select(editor, make_appointment(), make_appointment())
    page = editor.get("/compose/").get_data(as_text=True)
    assert "Clients of the 2 selected appointments" in page
    assert 'data-field="first_name"' in page and 'data-field="appointment_time"' in page
    assert "js/compose.js" in page and "<script>" not in page  # the CSP forbids inline script
    assert 'hx-trigger="keyup changed delay:300ms from:#body' in page


def test_the_counter_switches_to_ucs2_for_an_emoji(app, editor, make_client):
    person = make_client(first_name="Ann")
    plain = editor.post("/compose/count", data=_form(client_id=person.id))
    html = plain.get_data(as_text=True)
    assert plain.status_code == 200 and 'id="compose-count"' in html
    assert '<span class="count-encoding">GSM-7</span>' in html
    assert '<strong class="count-chars">6</strong>' in html  # "Hi Ann" after merging
    emoji = editor.post("/compose/count",
                        data=_form(client_id=person.id, body="Hi 😀 {{ first_name }}"))
    html = emoji.get_data(as_text=True)
    assert '<span class="count-encoding">UCS-2</span>' in html
    assert "Forces Unicode: <mark>😀</mark>" in html
    assert "(70 per segment)" in html


def test_the_counter_measures_the_longest_merged_text_and_prices_it(app, editor, make_client,
                                                                    make_appointment):
    short, long = make_client(first_name="Al"), make_client(first_name="Maximilian")
    _select(editor, make_appointment(client=short), make_appointment(client=long))
    body = "x" * 150 + " {{ first_name }}"  # 153 characters for Al, 161 for Maximilian
    html = editor.post("/compose/count",
                       data=_form(recipients="selected", body=body)).get_data(as_text=True)
    assert '<strong class="count-chars">161</strong>' in html
    assert '<strong class="count-segments">2</strong> segments' in html
    assert "0.0237 USD" in html  # (1 + 2) segments × 0.0079, in the currency setting


def test_the_counter_shows_template_and_length_errors(app, editor, make_client):
    person = make_client()
    hostile = editor.post("/compose/count", data=_form(client_id=person.id,
                                                       body="{{ ''.__class__ }}"))
    assert "attribute access are not" in hostile.get_data(as_text=True)
    too_long = editor.post("/compose/count", data=_form(client_id=person.id, body="y" * 1601))
    assert "Too long: a text may be at most 1,600 characters." in too_long.get_data(as_text=True)


def test_preview_has_one_row_per_recipient(app, editor, make_client, make_appointment):
    ok = make_client(first_name="Olga", last_name="Ok")
    out = make_client(first_name="Otto", last_name="Out", opted_out=True)
    _select(editor, make_appointment(client=ok), make_appointment(client=out))
    html = editor.post("/compose/preview",
                       data=_form(recipients="selected")).get_data(as_text=True)
    rows = re.findall(r"<tr class=\"[^\"]*\">(.*?)</tr>", html, re.S)
    assert len(rows) == 2
    assert "Olga Ok" in rows[0] and "Hi Olga" in rows[0] and "sends now" in rows[0]
    assert "Otto Out" in rows[1] and "Skipped: Opted out" in rows[1]
    assert "1 will be sent, 1 skipped." in html


def test_preview_of_a_scheduled_send_says_when(app, editor, make_client):
    person = make_client()
    later = to_local(utcnow() + timedelta(days=2)).replace(hour=14, minute=30)
    html = editor.post("/compose/preview", data=_form(
        client_id=person.id, when="later", send_date=later.date().isoformat(),
        send_time="14:30")).get_data(as_text=True)
    assert f"sends at {later:%a} {later.day} {later:%b}, 2:30 PM" in html


def test_bad_input_is_refused_on_the_page(app, editor, make_client):
    person = make_client()
    empty = editor.post("/compose/", data=_form(client_id=person.id, body=""))
    assert empty.status_code == 422
    assert "Write a message: the text is empty." in empty.get_data(as_text=True)
    past = to_local(utcnow() - timedelta(days=1))
    late = editor.post("/compose/", data=_form(
        client_id=person.id, when="later", send_date=past.date().isoformat(),
        send_time=past.strftime("%H:%M")))
    assert late.status_code == 422 and "has passed" in late.get_data(as_text=True)
    no_time = editor.post("/compose/", data=_form(client_id=person.id, when="later"))
    assert "Choose the date to send on." in no_time.get_data(as_text=True)
    fake = editor.post("/compose/", data=_form(
        client_id=person.id, channel="voice", body="",
        audio=(io.BytesIO(b"not audio at all"), "song.mp3")),
        content_type="multipart/form-data")
    assert fake.status_code == 422
    assert "“song.mp3” is not an MP3 or WAV recording" in fake.get_data(as_text=True)
    assert db.session.scalars(db.select(Broadcast)).all() == []


def test_send_redirects_to_the_progress_that_stops_polling_when_done(app, editor, make_client,
                                                                     run_worker):
    person = make_client()
    response = editor.post("/compose/", data=_form(client_id=person.id))
    assert response.status_code == 303
    broadcast = db.session.scalars(db.select(Broadcast)).one()
    assert response.location.endswith(f"/compose/broadcast/{broadcast.id}")
    page = editor.get(response.location).get_data(as_text=True)
    assert "is on its way" in page
    assert 'hx-trigger="every 1s"' in page and "<progress" in page
    run_worker()
    # Sent, but its delivery receipt has not come yet: the box keeps watching for it.
    fragment = editor.get(f"/compose/broadcast/{broadcast.id}/progress",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="broadcast-progress"')
    assert 'hx-trigger="every 2s"' in fragment and "Waiting for delivery receipts" in fragment
    message = db.session.scalars(db.select(Message)).one()
    deliver_receipt(message.provider_id)  # the simulated handset's receipt
    fragment = editor.get(f"/compose/broadcast/{broadcast.id}/progress",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in fragment and "every message has its final state" in fragment
    assert 'class="count-delivered">1<' in fragment


def test_mms_with_a_picture_through_the_form(app, editor, make_client):
    person = make_client()
    response = editor.post("/compose/", data=_form(
        client_id=person.id, channel="mms", images=[(io.BytesIO(png()), "map.png")]),
        content_type="multipart/form-data")
    assert response.status_code == 303
    page = editor.get(response.location).get_data(as_text=True)
    assert "map.png" in page and "image/png" in page


def test_scheduled_sends_can_be_cancelled(app, editor, make_client):
    person = make_client(first_name="Sched")
    later = to_local(utcnow() + timedelta(days=3))
    response = editor.post("/compose/", data=_form(
        client_id=person.id, when="later", send_date=later.date().isoformat(), send_time="09:15"))
    assert response.status_code == 303
    listing = editor.get("/compose/scheduled").get_data(as_text=True)
    assert "Sched Test" in listing and "9:15 AM" in listing
    broadcast = db.session.scalars(db.select(Broadcast)).one()
    cancelled = editor.post(f"/compose/broadcast/{broadcast.id}/cancel")
    assert cancelled.status_code == 303
    db.session.expire_all()
    assert db.session.get(Broadcast, broadcast.id).status == "cancelled"
    assert "Nothing is scheduled." in editor.get("/compose/scheduled").get_data(as_text=True)


def test_a_scheduled_send_can_be_edited(app, editor, make_client):
    person = make_client()
    later = to_local(utcnow() + timedelta(days=3))
    editor.post("/compose/", data=_form(client_id=person.id, when="later",
                                        send_date=later.date().isoformat(), send_time="09:15"))
    broadcast = db.session.scalars(db.select(Broadcast)).one()
    form = editor.get(f"/compose/broadcast/{broadcast.id}/edit").get_data(as_text=True)
    assert "Hi {{ first_name }}" in form and 'value="09:15"' in form
    saved = editor.post(f"/compose/broadcast/{broadcast.id}/edit", data={
        "body": "Moved: {{ first_name }}", "when": "later",
        "send_date": later.date().isoformat(), "send_time": "10:45"})
    assert saved.status_code == 303
    db.session.expire_all()
    edited = db.session.get(Broadcast, broadcast.id)
    assert edited.body == "Moved: {{ first_name }}"
    assert (to_local(edited.send_at).hour, to_local(edited.send_at).minute) == (10, 45)


def test_the_client_picker_finds_clients(app, editor, make_client):
    make_client(first_name="Zelda", last_name="Quist", email="zq@example.com")
    html = editor.get("/compose/clients?client_query=quist").get_data(as_text=True)
    assert 'id="client-options"' in html and "Zelda Quist" in html
    by_email = editor.get("/compose/clients?client_query=zq@exa").get_data(as_text=True)
    assert "Zelda Quist" in by_email


def test_read_only_staff_see_a_send_but_cannot_cancel_it(app, client_for, editor, make_client):
    person = make_client()
    later = to_local(utcnow() + timedelta(days=3))
    editor.post("/compose/", data=_form(client_id=person.id, when="later",
                                        send_date=later.date().isoformat(), send_time="09:15"))
    broadcast = db.session.scalars(db.select(Broadcast)).one()
    reader = client_for(Role.READ_ONLY)
    # A fresh app context: the fixture's shared one would keep the editor as flask.g's user.
    with app.app_context():
        page = reader.get(f"/compose/broadcast/{broadcast.id}")
        assert page.status_code == 200 and "Cancel this send" not in page.get_data(as_text=True)
        assert reader.post(f"/compose/broadcast/{broadcast.id}/cancel").status_code == 403


def test_email_files_up_to_10_mb_in_all(app, editor, make_client):
    """The form takes more than the app's 5 MB default, up to the 10 MB an email may carry."""
    from tests.compose.files import pdf

    person = make_client()
    two = [(io.BytesIO(pdf(3 * 1024 * 1024)), f"part{i}.pdf") for i in range(2)]
    sent = editor.post("/compose/", data=_form(client_id=person.id, channel="email",
                                               subject="Your documents", files=two),
                       content_type="multipart/form-data")
    assert sent.status_code == 303
    four = [(io.BytesIO(pdf(3 * 1024 * 1024)), f"part{i}.pdf") for i in range(4)]
    refused = editor.post("/compose/", data=_form(client_id=person.id, channel="email",
                                                  subject="Too much", files=four),
                          content_type="multipart/form-data")
    assert refused.status_code == 413
    assert "larger than 11 MB together. Nothing was sent." in refused.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Broadcast)) == 1
