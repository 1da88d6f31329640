"""The mass-send page tells the truth: no Stop button once done, never "Sent" for a send that
sent nothing."""

import pytest

from core.auth.models import Role
from core.extensions import db
from core.messaging.models import Broadcast

HX = {"HX-Request": "true"}


@pytest.fixture
def editor(client_for):
    return client_for(Role.EDIT)


def _send(editor, person, run_worker, before_the_worker=lambda: None) -> Broadcast:
    response = editor.post("/compose/", data={"recipients": "person", "client_id": str(person.id),
                                              "channel": "sms", "when": "now", "body": "Hi"})
    assert response.status_code == 303
    before_the_worker()
    run_worker()
    return db.session.scalars(db.select(Broadcast)).one()


def test_a_send_that_skipped_everyone_says_so_and_offers_no_stop(app, editor, make_client,
                                                                 run_worker):
    person = make_client()

    def stop_texts():  # the client replies STOP before the fan-out runs: their text is skipped
        person.opted_out = True
        db.session.commit()

    broadcast = _send(editor, person, run_worker, stop_texts)
    page = editor.get(f"/compose/broadcast/{broadcast.id}").get_data(as_text=True)
    assert "Not sent: every recipient was skipped" in page
    assert "Stop sending" not in page and "<dt>Send time</dt>" in page
    polled = editor.get(f"/compose/broadcast/{broadcast.id}/progress", headers=HX)
    html = polled.get_data(as_text=True)
    # The polled box takes the Stop button away and states the outcome (out of band).
    assert '<div id="broadcast-actions" hx-swap-oob="true"></div>' in html
    assert 'id="broadcast-state" hx-swap-oob="true"' in html and "every recipient" in html


def test_a_delivered_send_says_sent(app, editor, make_client, run_worker):
    broadcast = _send(editor, make_client(), run_worker)
    page = editor.get(f"/compose/broadcast/{broadcast.id}").get_data(as_text=True)
    assert '<dd id="broadcast-state">Sent</dd>' in page and "Stop sending" not in page
    # A full page load of the progress URL has no out-of-band parts.
    full = editor.get(f"/compose/broadcast/{broadcast.id}/progress").get_data(as_text=True)
    assert "hx-swap-oob" not in full
