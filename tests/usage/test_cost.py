"""Costs: inbound texts priced per segment, the currency shown with every price."""

from decimal import Decimal

import pytest

from core import settings
from core.auth.models import Role
from core.extensions import db
from core.messaging.inbound import accept_inbound
from core.messaging.models import Broadcast, Direction


@pytest.fixture
def viewer(client_for):
    return client_for(Role.READ_ONLY)


def _inbound(body: str, provider_id: str = "in-1"):
    message, _created = accept_inbound(provider="simulator", provider_id=provider_id,
                                       from_addr="+12025550123", to_addr="+12025550000",
                                       body=body)
    return message


def test_an_inbound_text_costs_its_segments_at_the_inbound_price(app):
    settings.set("sms_inbound_price", "0.0075")
    db.session.commit()
    short = _inbound("Yes")
    long = _inbound("x" * 200, provider_id="in-2")  # GSM-7: 2 segments
    assert db.session.get(type(short), short.id).cost == Decimal("0.0075")
    assert db.session.get(type(long), long.id).cost == Decimal("0.0150")


def test_an_inbound_text_is_free_when_no_inbound_price_is_set(app):
    message = _inbound("Hello")
    assert db.session.get(type(message), message.id).cost is None


def test_outbox_and_detail_show_the_currency(viewer, make_message):
    settings.set("currency", "EUR")
    db.session.commit()
    message = make_message(cost=Decimal("0.0123"))
    assert "0.0123 <span class=\"currency\">EUR</span>" in viewer.get("/messages/outbox").text
    assert "0.0123 <span class=\"currency\">EUR</span>" in viewer.get(
        f"/messages/{message.id}").text


def test_inbox_shows_the_cost_of_a_received_text(viewer, make_message):
    make_message(direction=Direction.IN, cost=Decimal("0.0075"))
    assert "0.0075 <span class=\"currency\">USD</span>" in viewer.get("/messages/inbox").text


def test_broadcast_page_shows_the_total_so_far(viewer, make_message):
    broadcast = Broadcast(channel="sms", body="Closed today", status="sent", total=2)
    db.session.add(broadcast)
    db.session.commit()
    make_message(broadcast_id=broadcast.id, cost=Decimal("0.0079"))
    make_message(broadcast_id=broadcast.id, cost=Decimal("0.0158"), to_addr="+12025550111")
    html = viewer.get(f"/compose/broadcast/{broadcast.id}").text
    assert '<dd class="cost-so-far">0.0237 USD</dd>' in html


def test_admin_sets_currency_and_inbound_price(admin_client):
    response = admin_client.post("/settings/business", data={
        "business_name": "Clinic", "business_timezone": "America/New_York",
        "delivery_mode": "live", "currency": "eur", "sms_inbound_price": "0.005"})
    assert response.status_code in (200, 303)
    assert settings.currency() == "EUR" and settings.inbound_price() == Decimal("0.005")


def test_a_bad_inbound_price_is_refused(admin_client):
    response = admin_client.post("/settings/business", data={
        "business_name": "Clinic", "business_timezone": "America/New_York",
        "delivery_mode": "live", "currency": "USD", "sms_inbound_price": "free"})
    assert "A price such as 0.0079" in response.text
    assert settings.inbound_price() == Decimal(0)
