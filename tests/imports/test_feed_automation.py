"""A calendar feed drives the automation rules: synced twice from a local HTTP server, the
moved event's queued reminder is cancelled and planned again for its new time, and the deleted
event's reminder is cancelled."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from core.appointments.importing import feeds
from core.appointments.models import Appointment
from core.automation.engine import plan_rule
from core.extensions import db
from core.messaging.fanout import fan_out
from core.messaging.models import Message
from tests.automation.conftest import make_rule, make_template  # noqa: F401  (fixtures)
from tests.imports.test_feeds import ZONE, served  # noqa: F401  (fixture)

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


def _event(uid: str, start: str, name: str, mobile: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20300201T120000Z",
                        f"DTSTART;TZID=America/New_York:{start}", "DURATION:PT30M",
                        f"SUMMARY:Visit of {name}", f"DESCRIPTION:Mobile: {mobile}",
                        f"ATTENDEE;CN={name}:mailto:{name.split()[0].lower()}@example.com",
                        "ORGANIZER:mailto:frontdesk@clinic.example", "END:VEVENT"])


def _calendar(*events: str) -> bytes:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Practice//Feed//EN",
                        *events, "END:VCALENDAR", ""]).encode()


def _reminders() -> dict[str, list[tuple[str, str | None]]]:
    """Each feed event's automated messages (status, reason), oldest first."""
    db.session.expire_all()
    rows = db.session.execute(select(Appointment.external_uid, Message.status, Message.reason)
                              .join(Message, Message.appointment_id == Appointment.id)
                              .order_by(Message.id))
    found: dict[str, list] = {}
    for uid, status, reason in rows:
        found.setdefault(uid, []).append((status, reason))
    return found


def test_a_feeds_move_and_cancel_move_and_cancel_the_queued_reminders(app, served, make_rule):  # noqa: F811
    ana = ("a@feed", "20300304T093000", "Ana Lopez", "+1 212 555 0101")
    bo = ("b@feed", "20300305T093000", "Bo Diaz", "+1 212 555 0102")
    served.bodies["/cal.ics"] = _calendar(_event(*ana), _event(*bo))
    feed = feeds.add_feed(name="Practice", url=served.base + "/cal.ics", allow_private=True)
    db.session.commit()
    assert feeds.sync_feed(feed.id, now=NOW, **ZONE)["created"] == 2
    rule = make_rule(timing="hours_before", amount=120)
    broadcast_id, count = plan_rule(rule, NOW)
    assert count == 2
    fan_out(broadcast_id)  # the reminders wait in the queue for their delivery job
    assert _reminders() == {"a@feed": [("queued", "")], "b@feed": [("queued", "")]}

    served.bodies["/cal.ics"] = _calendar(_event("a@feed", "20300304T113000", *ana[2:]))
    later = NOW + timedelta(minutes=15)
    assert feeds.sync_feed(feed.id, now=later, **ZONE)["cancelled"] == 1
    assert _reminders() == {"a@feed": [("cancelled", "Rescheduled")],
                            "b@feed": [("cancelled", "Appointment cancelled")]}
    broadcast_id, count = plan_rule(rule, later)  # the new time is planned afresh
    assert count == 1
    fan_out(broadcast_id)
    assert _reminders()["a@feed"] == [("cancelled", "Rescheduled"), ("queued", "")]
    assert "b@feed" not in {uid for uid, in db.session.execute(
        select(Appointment.external_uid).join(Message).where(Message.status == "queued"))}
