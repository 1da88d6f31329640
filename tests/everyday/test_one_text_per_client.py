"""One text per client: a mass notice merges a client's selected appointments into one message
(the earliest one's fields, `{{ appointments }}` listing all), unless sent one per appointment."""

from datetime import UTC, datetime, timedelta

import pytest

from core.auth.models import Role
from core.clients.models import ContactMethod
from core.extensions import db
from core.messaging.models import Broadcast, Channel, Message
from core.messaging.recipients import ONE_PER_CLIENT, count_reachable, plan, summarize
from core.simulator.models import SimMessage

START = datetime(2026, 12, 9, 15, 0, tzinfo=UTC)
BODY = "Hi {{ first_name }}, we moved. Your visits: {{ appointments }}. First: {{ service }}."


@pytest.fixture
def editor(client_for):
    return client_for(Role.EDIT)


@pytest.fixture
def booked(make_client, make_appointment):
    """Ann has three appointments (selected latest first), Ben one; Dee (Do Not Contact) two."""
    ann, ben = make_client(first_name="Ann"), make_client(first_name="Ben")
    dee = make_client(first_name="Dee", contact_method=ContactMethod.DO_NOT_CONTACT.value)
    ann3 = make_appointment(client=ann, start_at=START + timedelta(days=2), title="Third")
    ann1 = make_appointment(client=ann, start_at=START, title="First")
    ben1 = make_appointment(client=ben, start_at=START + timedelta(hours=1), title="Ben's")
    ann2 = make_appointment(client=ann, start_at=START + timedelta(days=1), title="Second")
    dee1 = make_appointment(client=dee, start_at=START, title="Dee one")
    dee2 = make_appointment(client=dee, start_at=START + timedelta(days=1), title="Dee two")
    return {"ann": ann, "ben": ben, "ids": [ann3.id, ann1.id, ben1.id, ann2.id, dee1.id, dee2.id],
            "ann_order": [ann1.id, ann2.id, ann3.id]}


def _draft(ids, **options):
    return Broadcast(channel="sms", body=BODY, recipients={"appointment_ids": ids},
                     options=options)


def test_the_plan_merges_a_clients_appointments_into_one_message(app, booked):
    rows = list(plan(_draft(booked["ids"], **{ONE_PER_CLIENT: True})))
    assert [r.client_id for r in rows] == [booked["ann"].id, booked["ben"].id,
                                           rows[2].client_id]
    ann = rows[0]
    assert ann.appointment_id == booked["ann_order"][0]  # the earliest one leads
    assert list(ann.merged) == booked["ann_order"]
    assert ann.body.startswith("Hi Ann, we moved. Your visits: ")
    assert ann.body.index("(First)") < ann.body.index("(Second)") < ann.body.index("(Third)")
    assert ann.body.endswith("First: First.")
    assert rows[1].body.count("(") == 1 and "(Ben's)" in rows[1].body
    assert rows[2].skip_reason == "Do Not Contact"

    per_appointment = list(plan(_draft(booked["ids"])))
    assert len(per_appointment) == 6
    assert all(r.merged == () for r in per_appointment)
    # Without merging, {{ appointments }} is the message's own appointment.
    assert per_appointment[0].body.count("(") == 1 and "(Third)" in per_appointment[0].body


@pytest.mark.parametrize("per_client", [True, False])
def test_sql_counts_agree_with_the_plan(app, booked, per_client):
    options = {ONE_PER_CLIENT: True} if per_client else {}
    planned = summarize(plan(_draft(booked["ids"], **options)))
    counted = count_reachable(Channel.SMS, booked["ids"], per_client=per_client)
    assert (counted.total, counted.sendable, dict(counted.skipped)) == \
        (planned.total, planned.sendable, dict(planned.skipped))
    assert counted.total == (3 if per_client else 6)


def test_sql_counts_agree_for_a_big_send(app, booked):
    app.config["COMPOSE_SYNC_PLAN_LIMIT"] = 2  # the SQL path of compose's check
    try:
        from core.messaging.compose import check

        checked = check(channel="sms", recipients={"appointment_ids": booked["ids"]},
                        body=BODY, options={ONE_PER_CLIENT: True})
    finally:
        app.config.pop("COMPOSE_SYNC_PLAN_LIMIT")
    assert (checked.summary.total, checked.summary.sendable) == (3, 2)


def _select(editor, ids):
    for i in ids:
        assert editor.post(f"/appointments/{i}/select", data={"selected": "1"}).status_code in (
            200, 303)


def test_compose_sends_one_text_per_client_through_a_real_worker(app, editor, booked,
                                                                  run_worker):
    _select(editor, booked["ids"])
    form = {"recipients": "selected", "channel": "sms", "when": "now", "body": BODY}
    preview = editor.post("/compose/preview", data=form).get_data(as_text=True)
    assert "3 appointments in one message" in preview and "(Second)" in preview

    assert editor.post("/compose/", data=form).status_code == 303
    run_worker()
    messages = db.session.scalars(db.select(Message).order_by(Message.id)).all()
    assert len(messages) == 3  # Ann, Ben, and Dee skipped
    ann = next(m for m in messages if m.client_id == booked["ann"].id)
    assert ann.appointment_id == booked["ann_order"][0] and ann.status in ("sent", "delivered")
    texts = [s.body for s in db.session.scalars(db.select(SimMessage))]
    assert sum(t.startswith("Hi Ann,") for t in texts) == 1


def test_one_message_per_appointment_keeps_the_old_behaviour(app, editor, booked, run_worker):
    _select(editor, booked["ids"])
    form = {"recipients": "selected", "channel": "sms", "when": "now", "body": BODY,
            "per_appointment": "y"}
    preview = editor.post("/compose/preview", data=form).get_data(as_text=True)
    assert "in one message" not in preview
    assert editor.post("/compose/", data=form).status_code == 303
    run_worker()
    texts = [s.body for s in db.session.scalars(db.select(SimMessage))]
    assert sum(t.startswith("Hi Ann,") for t in texts) == 3


def test_the_appointments_field_is_offered(app, editor, make_appointment):
    _select(editor, [make_appointment().id])
    page = editor.get("/compose/").get_data(as_text=True)
    assert 'data-field="appointments"' in page and "All their appointments" in page
    assert "One message per appointment" in page
