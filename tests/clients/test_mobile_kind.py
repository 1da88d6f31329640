"""A client's number kind is stored with the number, and a mass send trusts it."""

from flask_migrate import downgrade, upgrade
from sqlalchemy import insert, select, text, update

from core.clients.models import Client
from core.extensions import db
from core.messaging.models import Broadcast
from core.messaging.recipients import plan

MOBILE, LANDLINE, INVALID = "+12025550123", "+442071838750", "+1202555"


def _kind(client_id: int) -> str | None:
    return db.session.scalar(select(Client.mobile_kind).where(Client.id == client_id))


def test_the_kind_follows_the_number_through_the_orm(app, make_client):
    client = make_client(mobile=MOBILE)
    assert _kind(client.id) == "mobile"

    client.mobile = LANDLINE
    db.session.commit()
    assert _kind(client.id) == "landline"

    client.mobile = None
    db.session.commit()
    assert _kind(client.id) is None


def test_a_core_insert_gets_the_kind_too(app):
    """The CSV import writes clients with one executemany: each row gets its own kind."""
    db.session.execute(insert(Client), [
        {"first_name": "A", "mobile": MOBILE}, {"first_name": "B", "mobile": LANDLINE},
        {"first_name": "C", "mobile": INVALID}, {"first_name": "D", "mobile": None},
    ])
    db.session.commit()
    kinds = dict(db.session.execute(select(Client.first_name, Client.mobile_kind)).all())
    assert kinds == {"A": "mobile", "B": "landline", "C": "invalid", "D": None}


def _reason(client_id: int) -> str | None:
    draft = Broadcast(channel="sms", subject="", body="Hi", recipients={"client_id": client_id})
    return next(plan(draft)).skip_reason


def test_the_plan_uses_the_stored_kind_and_checks_numbers_stored_without_one(app, make_client):
    trusted = make_client(mobile=MOBILE)
    db.session.execute(update(Client).where(Client.id == trusted.id)
                       .values(mobile_kind="landline"))  # what was stored wins
    unknown = make_client(mobile=LANDLINE)
    db.session.execute(update(Client).where(Client.id == unknown.id).values(mobile_kind=None))
    db.session.commit()

    assert _reason(trusted.id) == "Landline cannot receive texts"
    assert _reason(unknown.id) == "Landline cannot receive texts"  # worked out on the spot


def test_the_migration_fills_the_kind_of_existing_clients(app):
    db.session.remove()
    downgrade(revision="0004_merge")
    try:
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO clients (first_name, last_name, company, mobile, contact_method,"
                " opted_out, unknown_sender, created_at) VALUES"
                " ('Old', '', '', :landline, 'text', false, false, CURRENT_TIMESTAMP),"
                " ('Older', '', '', :mobile, 'text', false, false, CURRENT_TIMESTAMP)"
            ), {"landline": LANDLINE, "mobile": MOBILE})
    finally:
        upgrade(revision="heads")
    kinds = dict(db.session.execute(select(Client.first_name, Client.mobile_kind)).all())
    assert kinds == {"Old": "landline", "Older": "mobile"}
