"""The status drop-down and the edit form send a status text exactly as the big buttons do,
and say what was sent or why not."""

from datetime import timedelta

from sqlalchemy import select

from core.appointments import operations as ops
from core.auth.models import Role
from core.extensions import db
from core.messaging.models import Message


def _on_the_way(make_rule, make_template):
    template = make_template(kind="en_route", name="On our way",
                             body="{{ staff }} is on the way.")
    return make_rule(kind="status", timing="on_status", status_trigger="en_route",
                     template=template)


def _bodies() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Message.body).order_by(Message.id)))


def test_the_drop_down_sends_the_en_route_text_once_and_says_so(
        client_for, make_rule, make_template, make_appointment, run_worker):
    _on_the_way(make_rule, make_template)
    visit = make_appointment()
    client = client_for(Role.EDIT)
    response = client.post(f"/appointments/{visit.id}/status", data={"status": "en_route"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "“On our way” is on its way to" in response.get_data(as_text=True)
    response = client.post(f"/appointments/{visit.id}/status", data={"status": "working"},
                           follow_redirects=True)
    assert "No text sent: the Working text is off." in response.get_data(as_text=True)
    response = client.post(f"/appointments/{visit.id}/status", data={"status": "en_route"},
                           headers={"HX-Request": "true"})
    assert "The En Route text was sent already." in response.get_data(as_text=True)
    response = client.post(f"/appointments/{visit.id}/status", data={"status": "scheduled"},
                           headers={"HX-Request": "true"})
    assert "Status Scheduled." in response.get_data(as_text=True)
    run_worker()
    assert _bodies() == ["Dr. Lee is on the way."]


def test_the_drop_down_says_why_nothing_went(client_for, make_rule, make_template, make_client,
                                             make_appointment):
    _on_the_way(make_rule, make_template)
    visit = make_appointment(client=make_client(opted_out=True))
    response = client_for(Role.EDIT).post(f"/appointments/{visit.id}/status",
                                          data={"status": "en_route"}, follow_redirects=True)
    assert "Status En Route. No text sent: Opted out." in response.get_data(as_text=True)


def test_the_edit_form_sends_the_status_text_too(client_for, make_rule, make_template,
                                                make_appointment, run_worker):
    _on_the_way(make_rule, make_template)
    visit = make_appointment()
    form = {k: getattr(visit, k) for k in ("client_id", "title", "staff", "location")}
    start = ops.to_local(visit.start_at).replace(tzinfo=None)
    form.update(start_at=f"{start:%Y-%m-%dT%H:%M}", status="en_route", job_number="",
                end_at=f"{start + timedelta(hours=1):%Y-%m-%dT%H:%M}")
    response = client_for(Role.EDIT).post(f"/appointments/{visit.id}/edit", data=form,
                                          follow_redirects=True)
    assert "“On our way” is on its way to" in response.get_data(as_text=True)
    run_worker()
    assert _bodies() == ["Dr. Lee is on the way."]
