"""Bulk test data for benchmarks: clients with one appointment each, inserted in chunks."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from core.appointments.models import Appointment
from core.clients.models import Client
from core.extensions import db

CHUNK = 5000


def appointments(count: int) -> list[int]:
    """`count` clients, each with one appointment tomorrow; returns the appointment ids."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    ids: list[int] = []
    for first in range(0, count, CHUNK):
        n = range(first, min(count, first + CHUNK))
        client_ids = db.session.execute(
            insert(Client.__table__).returning(Client.__table__.c.id,
                                               sort_by_parameter_order=True),
            [{"first_name": f"Client{i}", "last_name": "Bench", "mobile": phone(i),
              "email": f"client{i}@example.com", "timezone": "America/New_York"} for i in n],
        ).scalars().all()
        ids += db.session.execute(
            insert(Appointment.__table__).returning(Appointment.__table__.c.id,
                                                    sort_by_parameter_order=True),
            [{"client_id": c, "start_at": start, "end_at": start + timedelta(hours=1),
              "title": "Check-up", "staff": "Dr. Lee", "location": "Main office"}
             for c in client_ids],
        ).scalars().all()
        db.session.commit()
    return ids


def phone(i: int) -> str:
    """A valid, distinct US number for each i below 1,000,000 (202-555-0000 onwards)."""
    return f"+1202{555 + i // 10000}{i % 10000:04d}"
