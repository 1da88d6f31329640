"""Settings → Automated messages, Run now, the status buttons and Send confirmation."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from core.appointments.models import Appointment
from core.auth.models import Role
from core.automation.models import AutomationRule
from core.extensions import db
from core.messaging.models import Broadcast, Message


def _rule_form(template, **overrides) -> dict:
    values = {"name": "Two hours before", "kind": "reminder", "template_id": template.id,
              "timing": "hours_before", "amount": 2, "send_time": "09:00", "after": "completed",
              "status_trigger": "", "staff": "", "location": "", "title_contains": "",
              "enabled": "y"}
    values.update(overrides)
    return values


def test_create_rule_and_list_it(client_for, make_template):
    template = make_template(name="Reminder")
    client = client_for(Role.ADMIN)
    response = client.post("/automation/rules/new", data=_rule_form(template))
    assert response.status_code == 303
    html = client.get("/automation/rules").get_data(as_text=True)
    assert "Two hours before" in html and "2 hours before the start" in html


def test_rule_validation_messages(client_for, make_template):
    template = make_template()
    client = client_for(Role.ADMIN)
    cases = [
        (_rule_form(template, name=""), "Give the rule a name."),
        (_rule_form(template, template_id=0), "Choose a template"),
        (_rule_form(template, amount=0), "Choose between 1 and 336 hours."),
        (_rule_form(template, timing="days_before", send_time="9am"),
         "Write the daily time as HH:MM"),
        (_rule_form(template, kind="status", timing="on_status"),
         "Choose the status that sends this text."),
        (_rule_form(template, timing="hours_after"),
         "Choose days before (at a daily time) or hours before."),
    ]
    for data, message in cases:
        response = client.post("/automation/rules/new", data=data)
        assert response.status_code == 422, message
        assert message in response.get_data(as_text=True), message
    assert db.session.scalar(select(func.count()).select_from(AutomationRule)) == 0


def test_toggle_switches_a_rule_off(client_for, make_rule):
    rule = make_rule()
    client_for(Role.ADMIN).post(f"/automation/rules/{rule.id}/toggle")
    db.session.expire_all()
    assert db.session.get(AutomationRule, rule.id).enabled is False


def test_rule_page_shows_forecast_and_chart(client_for, make_rule, make_appointment):
    rule = make_rule(timing="hours_before", amount=2)
    start = datetime.now(UTC) + timedelta(days=2)
    make_appointment(start_at=start)
    make_appointment(start_at=start + timedelta(minutes=5))
    html = client_for(Role.ADMIN).get(f"/automation/rules/{rule.id}").get_data(as_text=True)
    assert "Next 7 days" in html and "<svg" in html
    assert '<td class="num">2</td>' in html


def test_dry_run_then_run_now_twice_sends_once(client_for, make_rule, make_client,
                                               make_appointment, run_worker):
    rule = make_rule(timing="hours_before", amount=3)
    soon = datetime.now(UTC) + timedelta(hours=1)
    ok = make_appointment(start_at=soon, client=make_client(first_name="Maria"))
    make_appointment(start_at=soon, client=make_client(first_name="Omar", opted_out=True))
    make_appointment(start_at=soon, status="cancelled")
    client = client_for(Role.ADMIN)
    html = client.post(f"/automation/rules/{rule.id}/dry-run").get_data(as_text=True)
    assert "<strong>1</strong> would be sent now, 2 skipped" in html
    assert "Skipped: Opted out" in html and "Skipped: appointment cancelled" in html
    assert db.session.scalar(select(func.count()).select_from(Broadcast)) == 0
    assert client.post(f"/automation/rules/{rule.id}/run").status_code == 303
    again = client.post(f"/automation/rules/{rule.id}/run", follow_redirects=True)
    assert "Nothing to send" in again.get_data(as_text=True)
    run_worker()
    sent = db.session.scalars(select(Message.appointment_id).where(Message.status == "sent"))
    assert list(sent) == [ok.id]
    html = client.post(f"/automation/rules/{rule.id}/dry-run").get_data(as_text=True)
    assert "Skipped: sent already by this rule" in html


def test_en_route_button_sends_and_says_so(client_for, make_rule, make_template,
                                           make_appointment, run_worker):
    template = make_template(kind="en_route", name="On our way",
                             body="{{ staff }} is on the way.")
    make_rule(kind="status", timing="on_status", status_trigger="en_route", template=template)
    appointment = make_appointment()
    client = client_for(Role.EDIT)
    page = client.get(f"/appointments/{appointment.id}").get_data(as_text=True)
    assert ">En Route</button>" in page and ">Send confirmation</a>" in page
    response = client.post(f"/automation/appointments/{appointment.id}/status",
                           data={"status": "en_route"}, follow_redirects=True)
    assert "“On our way” is on its way to" in response.get_data(as_text=True)
    response = client.post(f"/automation/appointments/{appointment.id}/status",
                           data={"status": "working"}, follow_redirects=True)
    assert "No text sent: the Working text is off." in response.get_data(as_text=True)
    run_worker()
    assert db.session.scalars(select(Message.body)).all() == ["Dr. Lee is on the way."]
    assert db.session.get(Appointment, appointment.id).status == "working"


def test_send_confirmation_for_a_picked_visit(client_for, make_template, make_client,
                                              make_appointment, run_worker):
    make_template(kind="confirmation", name="Confirm",
                  body="Please confirm {{ appointment_date }}. {{ reply_hint }}")
    client_ = make_client()
    start = datetime.now(UTC) + timedelta(days=3)
    first = make_appointment(client=client_, start_at=start, job_number="J-1")
    second = make_appointment(client=client_, start_at=start + timedelta(days=2),
                              job_number="J-1")
    client = client_for(Role.EDIT)
    page = client.get(f"/automation/appointments/{first.id}/confirm").get_data(as_text=True)
    assert "Visit to confirm (job J-1)" in page and "Reply YES to confirm" not in page
    assert "{{ reply_hint }}" in page
    response = client.post(f"/automation/appointments/{first.id}/confirm", data={
        "visit": second.id, "template_id": 1, "channel": "sms", "subject": "",
        "body": "Please confirm {{ appointment_date }}. {{ reply_hint }}"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Appointment, second.id).confirmation_status == "awaiting"
    assert db.session.get(Appointment, first.id).confirmation_status == "not_requested"
    run_worker()
    body = db.session.scalar(select(Message.body))
    assert body.endswith("Reply YES to confirm or NO to cancel.")


def test_send_confirmation_refusal_is_shown(client_for, make_template, make_client,
                                            make_appointment):
    make_template(kind="confirmation", name="Confirm", body="Confirm? {{ reply_hint }}")
    appointment = make_appointment(client=make_client(contact_method="none"))
    response = client_for(Role.EDIT).post(
        f"/automation/appointments/{appointment.id}/confirm",
        data={"visit": appointment.id, "template_id": 1, "channel": "sms", "body": "Confirm?"})
    assert response.status_code == 422
    assert "No one can receive this (do not contact: 1)" in response.get_data(as_text=True)


def test_send_confirmation_to_ticked_appointments(client_for, make_template, make_appointment,
                                                  run_worker):
    make_template(kind="confirmation", name="Confirm", body="Confirm? {{ reply_hint }}")
    ticked = [make_appointment(), make_appointment()]
    other = make_appointment()
    client = client_for(Role.EDIT)
    for appointment in ticked:
        client.post(f"/appointments/{appointment.id}/select", data={"selected": "1"})
    assert ">Send confirmation</a>" in client.get("/appointments").get_data(as_text=True)
    page = client.get("/automation/confirm-selected").get_data(as_text=True)
    assert "<strong>2</strong> ticked appointments" in page and "{{ reply_hint }}" in page
    response = client.post("/automation/confirm-selected", data={
        "template_id": 1, "channel": "sms", "body": "Confirm? {{ reply_hint }}"})
    assert response.status_code == 303
    db.session.expire_all()
    statuses = {a.id: db.session.get(Appointment, a.id).confirmation_status
                for a in [*ticked, other]}
    assert statuses == {ticked[0].id: "awaiting", ticked[1].id: "awaiting",
                        other.id: "not_requested"}
    run_worker()
    assert db.session.scalar(select(func.count()).select_from(Message).where(
        Message.status == "sent")) == 2


def test_deleting_a_rule_takes_its_keys_and_frees_its_template(client_for, make_rule,
                                                               make_appointment):
    from core.automation.engine import plan_rule
    from core.automation.models import AutomationSend, MessageTemplate

    rule = make_rule(timing="hours_before", amount=3)
    template_id = rule.template_id
    make_appointment(start_at=datetime.now(UTC) + timedelta(hours=1))
    plan_rule(rule)
    client = client_for(Role.ADMIN)
    assert client.post(f"/automation/rules/{rule.id}/delete").status_code == 303
    assert db.session.scalar(select(func.count()).select_from(AutomationSend)) == 0
    assert client.post(f"/templates/{template_id}/delete").status_code == 303
    assert db.session.get(MessageTemplate, template_id) is None


def test_templates_list_takes_a_fixed_number_of_queries(client_for, make_rule, query_counter):
    client = client_for(Role.READ_ONLY)
    make_rule()
    client.get("/templates")
    with query_counter() as one:
        client.get("/templates")
    make_rule()
    make_rule()
    with query_counter() as three:
        client.get("/templates")
    def ours(statements):
        return [s for s in statements if "automation_rules" in s or "message_templates" in s]

    assert len(ours(three)) == len(ours(one)) == 2


def test_rule_changes_and_runs_are_listed(client_for, make_rule, make_appointment):
    rule = make_rule(name="Soon", timing="hours_before", amount=3)
    make_appointment(start_at=datetime.now(UTC) + timedelta(hours=1))
    client = client_for(Role.ADMIN)
    client.post(f"/automation/rules/{rule.id}/toggle")
    client.post(f"/automation/rules/{rule.id}/run")
    html = client.get("/automation/rules").get_data(as_text=True)
    assert "Rule “Soon” switched off" in html
    assert "Rule “Soon” planned 1 message(s) (Run now)" in html


def test_a_confirmation_sent_by_hand_in_quiet_hours_waits_for_the_window(
        client_for, make_template, make_client, make_appointment):
    """Asked at night, the request is accepted and waits for 08:00 in the client's zone."""
    from zoneinfo import ZoneInfo

    from core import settings

    new_york = ZoneInfo("America/New_York")
    here = datetime.now(UTC).astimezone(new_york)
    opens = (here + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    settings.set("sending_window_start", f"{opens:%H}:00")
    settings.set("sending_window_end", f"{(here + timedelta(hours=3)):%H}:00")
    db.session.commit()
    make_template(kind="confirmation", name="Confirm", body="Confirm? {{ reply_hint }}")
    appointment = make_appointment(
        client=make_client(timezone="America/New_York"),
        start_at=datetime.now(UTC) + timedelta(days=3))
    response = client_for(Role.EDIT).post(
        f"/automation/appointments/{appointment.id}/confirm",
        data={"visit": appointment.id, "template_id": 1, "channel": "sms",
              "body": "Confirm? {{ reply_hint }}"})
    assert response.status_code == 303
    from core.messaging.fanout import fan_out

    fan_out(db.session.scalar(select(Broadcast.id)))
    message = db.session.scalars(select(Message)).one()
    assert message.status == "queued"
    assert message.send_at.astimezone(new_york).replace(second=0, microsecond=0) == opens
