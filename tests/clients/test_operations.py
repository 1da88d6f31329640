"""Client rules in core: E.164 numbers, refusals, time zones, duplicates, search, paging."""

import pytest
from sqlalchemy import func, select

from core.audit.models import AuditEvent
from core.clients.models import Client, ContactMethod
from core.clients.operations import (
    ClientData,
    ClientError,
    create_client,
    list_clients,
    update_client,
)
from core.extensions import db


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_mobile_in_any_format_is_stored_in_e164_with_its_time_zone(app):
    client = create_client(ClientData(first_name="Ann", mobile="(312) 555-0142"))
    db.session.commit()
    assert client.mobile == "+13125550142"
    assert client.timezone == "America/Chicago"
    assert client.contact_method == ContactMethod.TEXT


def test_without_a_mobile_the_time_zone_is_the_business_one(app):
    app.config["BUSINESS_TIMEZONE"] = "America/Denver"
    client = create_client(
        ClientData(first_name="Eve", email="eve@example.com", contact_method="email")
    )
    assert client.timezone == "America/Denver"
    assert client.mobile is None


def test_a_chosen_time_zone_wins_and_a_made_up_one_is_refused(app):
    client = create_client(
        ClientData(first_name="Kai", mobile="+12025550150", timezone="Europe/Lisbon")
    )
    assert client.timezone == "Europe/Lisbon"
    with pytest.raises(ClientError) as error:
        create_client(ClientData(first_name="Lu", mobile="+12025550151", timezone="Mars/Base"))
    assert error.value.field == "timezone"


@pytest.mark.parametrize(
    ("raw", "region", "message"),
    [
        ("12345", "US", "is not a valid phone number"),
        ("call me", "US", "is not a phone number"),
        ("+44 20 7946 0000", "US", "landline"),
        ("020 7946 0000", "GB", "landline"),
    ],
)
def test_bad_and_landline_numbers_are_refused_and_nothing_is_written(app, raw, region, message):
    with pytest.raises(ClientError) as error:
        create_client(ClientData(first_name="Bo", mobile=raw), region=region)
    db.session.rollback()
    assert error.value.field == "mobile"
    assert message in str(error.value)
    assert _count(Client) == 0
    assert _count(AuditEvent) == 0


def test_a_duplicate_mobile_names_its_owner(app, make_client):
    make_client(first_name="Maria", last_name="Garcia", mobile="+12025550123")
    with pytest.raises(ClientError) as error:
        create_client(ClientData(first_name="Copy", mobile="202.555.0123"))
    assert "already belongs to Maria Garcia" in str(error.value)


def test_contact_preference_needs_its_address(app):
    with pytest.raises(ClientError, match="needs a mobile number"):
        create_client(ClientData(first_name="Nomobile", email="n@example.com"))
    with pytest.raises(ClientError, match="needs an email address"):
        create_client(ClientData(first_name="Noemail", mobile="+12025550160",
                                 contact_method="email"))


def test_edit_records_what_changed_and_opting_out_is_dated(app, make_client, make_user):
    editor = make_user()
    client = make_client(first_name="Olga", company="Old Co", mobile="+12025550170")
    data = ClientData(first_name="Olga", last_name=client.last_name, company="New Co",
                      mobile="+1 202 555 0170", email=client.email, timezone=client.timezone,
                      opted_out=True)
    changes = update_client(client, data, actor=editor)
    db.session.commit()
    assert set(changes) == {"company", "opted_out"}
    assert client.opted_out_at is not None
    event = db.session.scalars(select(AuditEvent)).one()
    assert event.action == "client.edited"
    assert event.actor_id == editor.id
    assert event.data["changes"]["company"] == ["Old Co", "New Co"]
    assert "Old Co → New Co" in event.summary
    # Saving the same values again changes nothing and records nothing.
    assert update_client(client, data, actor=editor) == {}
    assert _count(AuditEvent) == 1


@pytest.mark.parametrize(
    "typed", ["2025550199", "202-555-0199", "(202) 555 0199", "+1 202 555 0199", "555 0199"]
)
def test_search_finds_a_mobile_typed_in_any_format(app, make_client, typed):
    wanted = make_client(first_name="Phone", mobile="+12025550199")
    make_client(first_name="Other", mobile="+13125550100")
    assert [c.id for c in list_clients(typed).rows] == [wanted.id]


def test_search_by_name_and_company(app, make_client):
    ann = make_client(first_name="Ann", last_name="Lee", company="Harbor Cafe")
    make_client(first_name="Bob", last_name="Stone", company="Summit Realty")
    assert [c.id for c in list_clients("ann lee").rows] == [ann.id]
    assert [c.id for c in list_clients("harbor").rows] == [ann.id]
    assert list_clients("100%").rows == []


def test_keyset_pages_cover_every_client_once(app, make_client):
    made = [make_client(first_name=f"P{n}", last_name=last)
            for n, last in enumerate(["Beta", "Alpha", "Beta", "Gamma", "Alpha", "Delta", "Beta"])]
    seen, cursor = [], None
    while True:
        page = list_clients(after=cursor, size=2)
        seen += [c.id for c in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    expected = sorted(made, key=lambda c: (c.last_name, c.first_name, c.id))
    assert seen == [c.id for c in expected]
    # And back again from the last page.
    back = list_clients(before=page.prev_cursor, size=2)
    assert [c.id for c in back.rows] == seen[4:6]


def test_a_tampered_cursor_starts_from_the_first_page(app, make_client):
    make_client()
    assert len(list_clients(after="not-a-cursor").rows) == 1
