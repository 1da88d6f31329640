"""The demo business loaded by `flask seed`: counts, variety, idempotence, a working sign-in."""

from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.appointments.models import Appointment
from core.auth.models import Role, User
from core.clients.models import Client
from core.demo import DEMO_PASSWORD, seed_demo
from core.extensions import db
from core.types import utcnow
from tests.conftest import _wipe


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_loads_staff_clients_and_appointments(runner):
    result = runner.invoke(args=["seed"])
    assert result.exit_code == 0, result.output
    assert "30 clients, 60 appointments" in result.output
    roles = {u.email: u.role for u in db.session.scalars(select(User))}
    assert roles == {"admin@tidings.test": Role.ADMIN, "editor@tidings.test": Role.EDIT,
                     "viewer@tidings.test": Role.READ_ONLY, "nobody@tidings.test": Role.NONE}
    clients = db.session.scalars(select(Client)).all()
    assert len(clients) == 30
    assert all(c.mobile.startswith("+1") and c.email for c in clients)
    methods = Counter(c.contact_method for c in clients)
    assert methods["email"] >= 2 and methods["none"] == 1
    assert sum(c.opted_out for c in clients) == 1
    assert len({c.timezone for c in clients}) > 2


def test_appointments_are_in_business_hours_over_two_weeks(runner):
    runner.invoke(args=["seed"])
    zone = ZoneInfo("America/New_York")
    appointments = db.session.scalars(select(Appointment)).all()
    assert len(appointments) == 60
    today = utcnow().astimezone(zone).date()
    for a in appointments:
        start, end = a.start_at.astimezone(zone), a.end_at.astimezone(zone)
        assert today <= start.date() < today + timedelta(days=14)
        assert start.weekday() < 5 and 8 <= start.hour and end.hour < 18 and end > start
    jobs = Counter(a.job_number for a in appointments if a.job_number)
    assert sum(1 for n in jobs.values() if n > 1) >= 3


def test_seed_if_empty_does_nothing_the_second_time(runner):
    assert runner.invoke(args=["seed", "--if-empty"]).exit_code == 0
    again = runner.invoke(args=["seed", "--if-empty"])
    assert again.exit_code == 0 and "not loaded" in again.output
    assert (_count(User), _count(Client), _count(Appointment)) == (4, 30, 60)
    # Without --if-empty it still adds nothing twice.
    assert "nothing added" in runner.invoke(args=["seed"]).output
    assert _count(Client) == 30


def test_seed_if_empty_leaves_a_real_installation_alone(runner, make_user):
    make_user(Role.ADMIN)
    runner.invoke(args=["seed", "--if-empty"])
    assert (_count(User), _count(Client)) == (1, 0)


def test_seed_is_deterministic(app):
    seed_demo(if_empty=False)
    db.session.commit()
    first = [(c.name, c.mobile, c.company) for c in db.session.scalars(select(Client))]
    db.session.remove()
    _wipe()
    seed_demo(if_empty=False)
    db.session.commit()
    assert [(c.name, c.mobile, c.company) for c in db.session.scalars(select(Client))] == first


def test_demo_admin_can_sign_in(runner, client):
    runner.invoke(args=["seed"])
    response = client.post("/login", data={"email": "admin@tidings.test",
                                           "password": DEMO_PASSWORD})
    assert response.status_code == 303
    page = client.get("/appointments")
    assert page.status_code == 200 and "Ada Admin" in page.get_data(as_text=True)
