"""The Simulator pages: phones show what the provider sent; replies go through the webhook code."""

import pytest
from sqlalchemy import func, select

from core.auth.models import Role
from core.clients.models import Client
from core.extensions import db
from core.messaging.models import Message
from core.providers.base import Outgoing
from core.simulator.models import SimMessage
from core.simulator.phones import phone_key
from core.simulator.provider import SimulatorProvider

HTMX = {"HX-Request": "true"}


def _deliver(to, body="Your visit is tomorrow at 9:00.", channel="sms", **fields):
    SimulatorProvider().send(Outgoing(message_id=1, channel=channel, to=to, body=body, **fields))
    db.session.commit()


def _reply(http, address, text, **fields):
    key = phone_key(address)
    headers = fields.pop("headers", {})
    data = {f"{key}-text": text, **{f"{key}-{name}": value for name, value in fields.items()}}
    return http.post(f"/simulator/reply/{address}", data=data, headers=headers)


def test_the_page_shows_what_the_provider_sent(client_for, make_client):
    make_client(first_name="Ann", last_name="Lee", mobile="+12025550001")
    _deliver("+12025550001", "Snow day: we are closed.", sender="+12025559999")
    _deliver("noone@example.com", "Your invoice", channel="email", subject="Invoice 42")
    _deliver("+12025550002", "Press 1 to confirm", channel="voice")
    page = client_for(Role.READ_ONLY).get("/simulator/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Ann Lee" in text and "Snow day: we are closed." in text and "from +12025559999" in text
    assert "Invoice 42" in text and "noone@example.com" in text
    assert "📞 call: Press 1 to confirm" in text
    assert "0000" in text and "fail@" in text  # the failure rules are documented


def test_read_only_users_see_no_reply_box_and_cannot_reply(client_for):
    _deliver("+12025550001")
    http = client_for(Role.READ_ONLY)
    assert 'class="sim-reply"' not in http.get("/simulator/").get_data(as_text=True)
    assert _reply(http, "+12025550001", "Yes").status_code == 403
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_editors_get_a_reply_box_on_every_phone(client_for):
    _deliver("+12025550001")
    _deliver("+12025550002")
    page = client_for(Role.EDIT).get("/simulator/").get_data(as_text=True)
    assert page.count('class="sim-reply"') == 2


def test_a_reply_lands_as_an_inbound_message_of_the_client(client_for, make_client):
    ann = make_client(mobile="+12025550001")
    _deliver("+12025550001", sender="+12025559999")
    response = _reply(client_for(Role.EDIT), "+12025550001", "Yes, I'll be there")
    assert response.status_code == 303
    assert response.location.endswith("/simulator/phone/+12025550001")
    message = db.session.scalar(select(Message).where(Message.direction == "in"))
    assert (message.client_id, message.status) == (ann.id, "received")
    assert message.body == "Yes, I'll be there"
    assert (message.provider, message.from_addr, message.to_addr) == ("simulator", "+12025550001",
                                                                     "+12025559999")
    sent = db.session.scalar(select(SimMessage).where(SimMessage.incoming.is_(False)))
    assert (sent.provider_id, sent.client_ref) == (message.provider_id, str(message.id))


def test_an_htmx_reply_returns_the_phone_with_the_reply(client_for, make_client):
    make_client(mobile="+12025550001")
    _deliver("+12025550001")
    response = _reply(client_for(Role.EDIT), "+12025550001", "See you", headers=HTMX)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert text.lstrip().startswith('<article class="phone"') and "See you" in text


def test_an_empty_reply_is_refused_with_a_message(client_for):
    response = _reply(client_for(Role.EDIT), "+12025550001", "  ", headers=HTMX)
    assert response.status_code == 422
    assert "Type a reply or attach a file." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_a_reply_longer_than_an_sms_allows_is_refused(client_for):
    response = _reply(client_for(Role.EDIT), "+12025550001", "x" * 1601)
    assert response.status_code == 422
    assert "at most 1600 characters" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(SimMessage.id))) == 0


def test_an_unknown_phone_can_open_and_reply(client_for):
    http = client_for(Role.EDIT)
    page = http.get("/simulator/phone/(202) 555-0777")
    assert page.status_code == 200 and "Unknown" in page.get_data(as_text=True)
    assert _reply(http, "+12025550777", "Who is this?").status_code == 303
    stranger = db.session.scalar(select(Client))
    assert stranger.unknown_sender and stranger.mobile == "+12025550777"
    assert "unknown sender" in http.get("/simulator/phone/+12025550777").get_data(as_text=True)


def test_an_email_reply_carries_its_subject(client_for, make_client):
    ann = make_client(email="ann@example.com")
    _deliver("ann@example.com", "We are closed", channel="email", subject="Snow day")
    http = client_for(Role.EDIT)
    page = http.get("/simulator/phone/ann@example.com").get_data(as_text=True)
    assert 'placeholder="Subject"' in page
    _reply(http, "ann@example.com", "Thanks!", subject="Re: Snow day")
    message = db.session.scalar(select(Message))
    assert (message.channel, message.subject) == ("email", "Re: Snow day")
    assert message.client_id == ann.id


def test_csrf_protects_the_reply_box(app, client_for):
    http = client_for(Role.EDIT)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = _reply(http, "+12025550001", "Yes")
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Message.id))) == 0


def test_the_thread_poll_swaps_only_when_something_is_new(client_for):
    _deliver("+12025550001", "first")
    http = client_for(Role.READ_ONLY)
    last = db.session.scalar(select(func.max(SimMessage.id)))
    url = "/simulator/thread/+12025550001"
    assert http.get(f"{url}?after={last}", headers=HTMX).status_code == 204
    _deliver("+12025550001", "second")
    fresh = http.get(f"{url}?after={last}", headers=HTMX)
    text = fresh.get_data(as_text=True)
    assert fresh.status_code == 200 and text.lstrip().startswith('<div class="thread"')
    assert text.index("first") < text.index("second")  # newest at the bottom
    assert "<form" not in text  # the reply box is never replaced by a poll
    assert http.get(url).status_code == 302


@pytest.mark.parametrize("q, target", [("202-555-0001", "/simulator/phone/+12025550001"),
                                       ("Ann@Example.com", "/simulator/phone/ann@example.com")])
def test_the_picker_opens_a_number_or_address(client_for, q, target):
    response = client_for(Role.READ_ONLY).get("/simulator/", query_string={"q": q})
    assert response.status_code == 302 and response.location.endswith(target)


def test_the_picker_finds_clients_by_name(client_for, make_client):
    make_client(first_name="Zoe", last_name="Quinn", mobile="+12025550042", email=None)
    http = client_for(Role.READ_ONLY)
    text = http.get("/simulator/?q=quinn").get_data(as_text=True)
    assert "Zoe Quinn" in text and "/simulator/phone/+12025550042" in text
    text = http.get("/simulator/?q=nobody").get_data(as_text=True)
    assert "No phone number, email address or client matches" in text


def test_nonsense_addresses_are_not_found(client_for):
    http = client_for(Role.EDIT)
    assert http.get("/simulator/phone/no-such-thing").status_code == 404
    assert _reply(http, "no-such-thing", "hi").status_code == 404


def test_the_grid_costs_the_same_few_queries_for_many_phones(client_for, make_client,
                                                             query_counter):
    http = client_for(Role.READ_ONLY)
    for n in range(2):
        _deliver(f"+1202555010{n}")
    with query_counter() as few:
        http.get("/simulator/")
    for n in range(2, 12):
        make_client(mobile=f"+120255501{n:02d}")
        _deliver(f"+120255501{n:02d}")
    with query_counter() as many:
        page = http.get("/simulator/")
    assert page.get_data(as_text=True).count('class="phone"') == 12
    assert len(many) == len(few)
