"""Compose to three ticked appointments, run a real worker: each client gets their own text."""

from core.auth.models import Role
from core.extensions import db
from core.messaging.models import Broadcast, Message
from core.simulator.models import SimMessage
from core.simulator.tasks import deliver_receipt


def test_compose_to_three_selected_appointments_sends_three_texts(app, client_for, make_client,
                                                                 make_appointment, run_worker):
    editor = client_for(Role.EDIT)
    names = ["Ada", "Ben", "Cy"]
    appointments = [make_appointment(client=make_client(first_name=n)) for n in names]
    for appointment in appointments:
        editor.post(f"/appointments/{appointment.id}/select", data={"selected": "1"})
    assert "Clients of the 3 selected appointments" in editor.get("/compose/").get_data(
        as_text=True)

    response = editor.post("/compose/", data={
        "recipients": "selected", "channel": "sms", "when": "now",
        "body": "Hi {{ first_name }}, we are closed today. See you {{ appointment_date }}.",
    })
    assert response.status_code == 303
    run_worker()

    broadcast = db.session.scalars(db.select(Broadcast)).one()
    messages = db.session.scalars(db.select(Message).order_by(Message.id)).all()
    assert [m.appointment_id for m in messages] == [a.id for a in appointments]
    assert {m.status for m in messages} <= {"sent", "delivered"}
    phones = {s.address: s.body for s in db.session.scalars(db.select(SimMessage))}
    for name, appointment in zip(names, appointments, strict=True):
        assert phones[appointment.client.mobile].startswith(f"Hi {name}, we are closed today.")
    progress = editor.get(f"/compose/broadcast/{broadcast.id}/progress",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'value="3"' in progress  # all three went; the box now waits for their receipts
    for message in messages:
        deliver_receipt(message.provider_id)
    progress = editor.get(f"/compose/broadcast/{broadcast.id}/progress",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in progress and 'class="count-delivered">3<' in progress
    # The selection was used up by the send.
    assert "selected appointments" not in editor.get("/compose/").get_data(as_text=True)
