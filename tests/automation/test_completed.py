"""Follow-ups count from the moment an appointment became Completed (completed_at), whichever
way it did: the big buttons, the status drop-down, the edit form or an import."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.appointments import operations as ops
from core.appointments.models import Appointment
from core.auth.models import Role
from core.automation.engine import plan_rule
from core.automation.status import change_status
from core.extensions import db
from tests.imports.helpers import confirm, csv_file, upload

NOW = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)


def _follow_up(make_rule, hours=3):
    return make_rule(kind="follow_up", timing="hours_after", amount=hours, after="completed")


def test_a_visit_completed_late_is_followed_up_hours_after_completion(app, make_rule,
                                                                      make_appointment):
    rule = _follow_up(make_rule)
    ended = NOW - timedelta(hours=5)  # by its end, 3 hours have long passed
    visit = make_appointment(start_at=ended - timedelta(hours=1), end_at=ended)
    change_status(visit, "completed", now=NOW - timedelta(hours=1))
    assert db.session.get(Appointment, visit.id).completed_at == NOW - timedelta(hours=1)
    assert plan_rule(rule, NOW)[1] == 0, "only 1 hour since it was completed"
    assert plan_rule(rule, NOW + timedelta(hours=2))[1] == 1


def test_a_visit_completed_early_is_followed_up_before_its_booked_end(app, make_rule,
                                                                      make_appointment):
    rule = _follow_up(make_rule)
    visit = make_appointment(start_at=NOW - timedelta(hours=4), end_at=NOW + timedelta(hours=1))
    change_status(visit, "completed", now=NOW - timedelta(hours=3))
    assert plan_rule(rule, NOW)[1] == 1


def test_leaving_completed_clears_the_moment_and_coming_back_sets_it_anew(
        app, make_rule, make_appointment):
    rule = _follow_up(make_rule)
    visit = make_appointment(start_at=NOW - timedelta(hours=9), end_at=NOW - timedelta(hours=8))
    change_status(visit, "completed", now=NOW - timedelta(hours=7))
    change_status(visit, "working", now=NOW - timedelta(hours=6))  # the drop-down's path too
    assert db.session.get(Appointment, visit.id).completed_at is None
    assert plan_rule(rule, NOW)[1] == 0, "not Completed now"
    change_status(visit, "completed", now=NOW - timedelta(hours=1))
    assert plan_rule(rule, NOW)[1] == 0, "completed again only 1 hour ago"
    assert plan_rule(rule, NOW + timedelta(hours=2))[1] == 1


def test_the_edit_form_and_the_drop_down_set_and_clear_it(client_for, make_appointment):
    visit = make_appointment()
    client = client_for(Role.EDIT)
    client.post(f"/appointments/{visit.id}/status", data={"status": "completed"})
    db.session.expire_all()
    completed_at = db.session.get(Appointment, visit.id).completed_at
    assert completed_at is not None and datetime.now(UTC) - completed_at < timedelta(minutes=5)
    form = {k: getattr(visit, k) for k in ("client_id", "title", "staff", "location")}
    start = ops.to_local(visit.start_at).replace(tzinfo=None)
    form.update(start_at=f"{start:%Y-%m-%dT%H:%M}",
                end_at=f"{start + timedelta(hours=1):%Y-%m-%dT%H:%M}", status="scheduled",
                job_number="")
    assert client.post(f"/appointments/{visit.id}/edit", data=form).status_code == 303
    db.session.expire_all()
    assert db.session.get(Appointment, visit.id).completed_at is None


def test_old_visits_imported_as_completed_get_no_follow_up_today(app, client_for, make_rule):
    rule = _follow_up(make_rule)
    client = client_for(Role.EDIT)
    content = csv_file(
        "Ana,Lopez,,(202) 555-0143,,text,2020-03-04 09:30,2020-03-04 10:00,"
        "Check-up,Dr. Lee,Main office,J-1,completed")
    assert confirm(client, upload(client, content)).status_code == 303
    visit = db.session.scalar(select(Appointment))
    assert visit.completed_at == visit.end_at  # completed by its end, not at the import
    assert plan_rule(rule)[1] == 0
