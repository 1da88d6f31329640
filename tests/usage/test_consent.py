"""Marketing consent: given by the client card, JOIN or an import; STOP withdraws it; a
marketing send skips clients without it and keeps the sending window with no override."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from core import settings
from core.auth.models import Role
from core.clients.models import Client
from core.extensions import db
from core.messaging.models import Broadcast
from core.messaging.recipients import SKIP_NO_CONSENT, plan
from core.simulator.models import SimMessage
from core.simulator.operations import send_reply


@pytest.fixture
def editor(client_for):
    return client_for(Role.EDIT)


def _marketing(ids, **options):
    return Broadcast(channel="sms", subject="", body="Sale {{ first_name }}",
                     recipients={"appointment_ids": ids},
                     options={"category": "marketing", **options})


def _texts(number):
    query = select(SimMessage.body).where(SimMessage.address == number,
                                          SimMessage.incoming.is_(True)).order_by(SimMessage.id)
    return list(db.session.scalars(query))


def test_a_marketing_send_skips_clients_without_consent(app, make_client, make_appointment):
    yes = make_client(first_name="Yes", marketing_consent=True)
    no = make_client(first_name="No")
    ids = [make_appointment(client=yes).id, make_appointment(client=no).id]
    rows = list(plan(_marketing(ids)))
    assert [r.skip_reason for r in rows] == [None, SKIP_NO_CONSENT]
    transactional = Broadcast(channel="sms", body="Closed", recipients={"appointment_ids": ids})
    assert [r.skip_reason for r in plan(transactional)] == [None, None]


def test_the_dry_run_shows_no_marketing_consent(editor, make_client, make_appointment):
    ann = make_client(first_name="Ann", last_name="Agreed", marketing_consent=True)
    bob = make_client(first_name="Bob", last_name="Never")
    for appointment in (make_appointment(client=ann), make_appointment(client=bob)):
        editor.post(f"/appointments/{appointment.id}/select", data={"selected": "1"})
    html = editor.post("/compose/preview", data={
        "recipients": "selected", "channel": "sms", "body": "Offer", "when": "now",
        "category": "marketing", "outside_window": "y"}).text
    assert "Skipped: no marketing consent" in html and "1 will be sent, 1 skipped." in html


@pytest.mark.parametrize("end, opens_utc", [("", 12), ("20:00", 12)])
def test_marketing_keeps_the_window_even_with_the_override(app, make_client, make_appointment,
                                                           end, opens_utc):
    settings.set("marketing_window_end", end)
    settings.set("sending_window_start", "08:00")
    settings.set("sending_window_end", "21:00")
    db.session.commit()
    person = make_client(timezone="America/New_York", marketing_consent=True)
    ids = [make_appointment(client=person).id]
    late = datetime(2026, 7, 1, 1, 30, tzinfo=UTC)  # 21:30 EDT: outside the window
    row = next(plan(_marketing(ids, outside_window=True), now=late))
    assert (row.quiet, row.send_at) == ("held", datetime(2026, 7, 1, opens_utc, tzinfo=UTC))
    other = Broadcast(channel="sms", body="Closed", recipients={"appointment_ids": ids},
                      options={"outside_window": True})
    assert next(plan(other, now=late)).quiet == "outside"


def test_a_stricter_marketing_end_holds_what_the_window_allows(app, make_client,
                                                               make_appointment):
    settings.set("marketing_window_end", "20:00")
    db.session.commit()
    person = make_client(timezone="America/New_York", marketing_consent=True)
    ids = [make_appointment(client=person).id]
    at_half_past_eight = datetime(2026, 7, 1, 0, 30, tzinfo=UTC)  # 20:30 EDT
    assert next(plan(_marketing(ids), now=at_half_past_eight)).quiet == "held"
    transactional = Broadcast(channel="sms", body="Closed", recipients={"appointment_ids": ids})
    assert next(plan(transactional, now=at_half_past_eight)).quiet == ""


def test_join_gives_consent_with_one_confirmation_and_stop_withdraws_it(app, make_client,
                                                                        run_worker):
    ann = make_client(mobile="+12025550001")
    send_reply(ann.mobile, "Join!")
    run_worker()
    client = db.session.get(Client, ann.id)
    assert client.marketing_consent and client.marketing_consent_source == "keyword"
    assert len(_texts(ann.mobile)) == 1 and "offers" in _texts(ann.mobile)[0]
    send_reply(ann.mobile, "STOP")
    run_worker()
    db.session.expire_all()
    client = db.session.get(Client, ann.id)
    assert not client.marketing_consent and client.opted_out


def test_the_client_card_records_and_withdraws_consent_with_history(editor, make_client):
    ann = make_client()
    card = editor.get(f"/clients/{ann.id}").text
    assert "No marketing consent" in card
    response = editor.post(f"/clients/{ann.id}/consent", data={"consent": "give"},
                           headers={"HX-Request": "true"})
    assert "Agreed to marketing" in response.text and "on the client card" in response.text
    editor.post(f"/clients/{ann.id}/consent", data={"consent": "withdraw"})
    card = editor.get(f"/clients/{ann.id}").text
    assert "Marketing consent withdrawn on the client card" in card
    assert "Marketing consent given on the client card" in card
    assert not db.session.get(Client, ann.id).marketing_consent


def test_read_only_cannot_change_consent(client_for, make_client):
    ann = make_client()
    viewer = client_for(Role.READ_ONLY)
    assert viewer.post(f"/clients/{ann.id}/consent", data={"consent": "give"}).status_code == 403
