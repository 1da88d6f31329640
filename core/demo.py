"""The demo business: staff of every role, about thirty clients, two weeks of appointments."""

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from core.appointments.models import AppointmentStatus
from core.appointments.operations import AppointmentData, create_appointment
from core.auth.models import Role, User
from core.auth.operations import create_user, find_by_email
from core.automation.demo import seed_automation
from core.clients.models import ContactMethod
from core.clients.operations import ClientData, create_client
from core.extensions import db
from core.types import utcnow

DEMO_PASSWORD = "tidings-demo"
SEED = 20240601
STAFF_USERS = [
    ("admin@tidings.test", "Ada Admin", Role.ADMIN),
    ("editor@tidings.test", "Eli Editor", Role.EDIT),
    ("viewer@tidings.test", "Vera Viewer", Role.READ_ONLY),
    ("nobody@tidings.test", "Noel Nobody", Role.NONE),
]
PEOPLE = [
    ("Maria", "Garcia"), ("James", "Smith"), ("Aisha", "Khan"), ("Wei", "Chen"),
    ("Olivia", "Johnson"), ("Liam", "O'Brien"), ("Sofia", "Rossi"), ("Noah", "Williams"),
    ("Fatima", "Al-Sayed"), ("Lucas", "Martin"), ("Emma", "Brown"), ("Mateo", "Hernández"),
    ("Chloé", "Dubois"), ("Kwame", "Mensah"), ("Hannah", "Schmidt"), ("Ravi", "Patel"),
    ("Grace", "Kim"), ("Daniel", "Nguyen"), ("Amelia", "Taylor"), ("Ethan", "Davis"),
    ("Yuki", "Tanaka"), ("Isabella", "Lopez"), ("Samuel", "Okafor"), ("Zoe", "Wilson"),
    ("Omar", "Haddad"), ("Lily", "Anderson"), ("Jack", "Thompson"), ("Priya", "Sharma"),
    ("Henry", "Clark"), ("Ava", "Lewis"),
]
COMPANIES = ["", "", "", "Acme Logistics", "Brightside Dental Group", "Harbor Cafe",
             "Northwind Traders", "Summit Realty", "Blue Fern Yoga", "Lakeside School"]
# Area codes of several US time zones; 555-01xx numbers are reserved for fiction.
AREA_CODES = ["202", "202", "617", "305", "312", "512", "720", "415", "206"]
SERVICES = [
    ("Annual check-up", 60), ("Follow-up visit", 30), ("Physiotherapy session", 45),
    ("Dental cleaning", 60), ("Flu vaccination", 15), ("Blood test", 15),
    ("Consultation", 30), ("Eye exam", 45),
]
SERIES = [("Physiotherapy session", 45), ("Orthodontic adjustment", 30), ("Wound care", 30)]
STAFF_NAMES = ["Dr. Lee", "Dr. Patel", "Nurse Okafor", "Sam Rivera", "Dr. Nguyen"]
LOCATIONS = ["Main office, room 1", "Main office, room 2", "Downtown branch", "Home visit"]
EMAIL_PREFERRED = {3, 11, 19, 24}
DO_NOT_CONTACT = {7}
OPTED_OUT = {13}
APPOINTMENTS = 60
SERIES_JOBS = 6
VISITS_PER_SERIES = 3


def seed_demo(if_empty: bool) -> str:
    """Add the demo staff, clients and appointments (the caller commits); one-line summary."""
    if if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
        return "Users exist already: the demo data was not loaded."
    if find_by_email(STAFF_USERS[0][0]) is not None:
        return "The demo data is loaded already: nothing added."
    rng = random.Random(SEED)
    users = [create_user(email, DEMO_PASSWORD, role, name) for email, name, role in STAFF_USERS]
    clients = _clients(rng)
    count = _appointments(rng, clients)
    templates, rules = seed_automation()
    return (f"Loaded the demo: {len(users)} staff (password {DEMO_PASSWORD}), "
            f"{len(clients)} clients, {count} appointments, {templates} templates, "
            f"{rules} automated-message rules.")


def _clients(rng: random.Random) -> list:
    """Thirty clients with varied companies, zones and contact preferences."""
    clients = []
    for n, (first, last) in enumerate(PEOPLE):
        method = ContactMethod.TEXT
        if n in EMAIL_PREFERRED:
            method = ContactMethod.EMAIL
        elif n in DO_NOT_CONTACT:
            method = ContactMethod.DO_NOT_CONTACT
        email = f"{first}.{last}".lower().replace("'", "").replace(" ", "")
        data = ClientData(
            first_name=first,
            last_name=last,
            company=rng.choice(COMPANIES),
            mobile=f"+1 {rng.choice(AREA_CODES)} 555 01{n:02d}",
            email=f"{_ascii(email)}@example.com",
            contact_method=method,
            opted_out=n in OPTED_OUT,
        )
        clients.append(create_client(data, region="US"))
    return clients


def _ascii(text: str) -> str:
    return text.encode("ascii", "ignore").decode()


def _appointments(rng: random.Random, clients: list) -> int:
    """Sixty appointments in business hours over the next two weeks; some share a job."""
    zone = ZoneInfo(current_app.config["BUSINESS_TIMEZONE"])
    days = _workdays(datetime.now(zone).date(), 14)
    count = 0
    for job in range(SERIES_JOBS):
        client = rng.choice(clients)
        title, minutes = SERIES[job % len(SERIES)]
        first = rng.randrange(0, len(days) - 2 * VISITS_PER_SERIES)
        staff, hour = rng.choice(STAFF_NAMES), rng.randrange(8, 16)
        for visit in range(VISITS_PER_SERIES):
            day = days[first + 2 * visit]
            _add(client, day, hour, rng.choice((0, 30)), zone, title, minutes, staff,
                 rng.choice(LOCATIONS), f"J-{2001 + job}")
            count += 1
    while count < APPOINTMENTS:
        title, minutes = rng.choice(SERVICES)
        _add(rng.choice(clients), rng.choice(days), rng.randrange(8, 17),
             rng.choice((0, 15, 30, 45)), zone, title, minutes, rng.choice(STAFF_NAMES),
             rng.choice(LOCATIONS), f"J-{3001 + count}" if rng.random() < 0.6 else "",
             cancelled=rng.random() < 0.06)
        count += 1
    return count


def _workdays(start, span: int) -> list:
    """Monday-to-Friday dates from `start` for `span` days."""
    dates = (start + timedelta(days=i) for i in range(span))
    return [d for d in dates if d.weekday() < 5]


def _add(client, day, hour, minute, zone, title, minutes, staff, location, job,
         cancelled: bool = False) -> None:
    start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
    data = AppointmentData(
        client_id=client.id,
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        title=title,
        staff=staff,
        location=location,
        status=AppointmentStatus.CANCELLED if cancelled else _status_at(start),
        job_number=job,
    )
    create_appointment(data)


def _status_at(start: datetime) -> str:
    """Earlier today's visits are done, the current one is in progress, the rest scheduled."""
    now = utcnow()
    if start + timedelta(hours=1) <= now:
        return AppointmentStatus.COMPLETED
    if start <= now:
        return AppointmentStatus.WORKING
    return AppointmentStatus.SCHEDULED
