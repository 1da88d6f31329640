"""Calendar feeds served by a local HTTP server: synced twice (one event moved, one gone),
conditional requests, the SSRF guard, the size cap, and a failing feed beside a good one."""

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from core.appointments.importing import feeds
from core.appointments.importing.fetching import FeedError
from core.appointments.importing.models import CalendarFeed
from core.appointments.importing.tasks import sync_due_feeds
from core.appointments.models import Appointment
from core.auth.models import Role
from core.extensions import db

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
ZONE = {"tz": "America/New_York", "region": "US"}


def _event(uid: str, start: str, name: str, email: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20300201T120000Z",
                        f"DTSTART;TZID=America/New_York:{start}", "DURATION:PT30M",
                        f"SUMMARY:Visit of {name}", f"ATTENDEE;CN={name}:mailto:{email}",
                        "ORGANIZER:mailto:frontdesk@clinic.example", "END:VEVENT"])


def _calendar(*events: str) -> bytes:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Practice//Feed//EN",
                        *events, "END:VCALENDAR", ""]).encode()


class Feed:
    """What the local server serves: a body per path, with an ETag, and the requests seen."""

    def __init__(self):
        self.bodies: dict[str, bytes] = {}
        self.seen: list[dict] = []


@pytest.fixture
def served():
    feed = Feed()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the name http.server calls)
            feed.seen.append(dict(self.headers))
            body = feed.bodies.get(self.path)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            tag = f'"{hash(body) & 0xFFFFFFFF:x}"'
            if self.headers.get("If-None-Match") == tag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            self.send_header("ETag", tag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    feed.base = f"http://127.0.0.1:{server.server_address[1]}"
    yield feed
    server.shutdown()


def _visits() -> dict[str, Appointment]:
    db.session.expire_all()
    return {a.external_uid: a for a in db.session.scalars(select(Appointment))}


def test_a_feed_synced_twice_moves_and_cancels(app, served):
    ana, bo, cy = (("a@feed", "20300304T093000", "Ana Lopez", "ana@example.com"),
                   ("b@feed", "20300305T093000", "Bo Diaz", "bo@example.com"),
                   ("c@feed", "20300306T093000", "Cy Roe", "cy@example.com"))
    served.bodies["/cal.ics"] = _calendar(_event(*ana), _event(*bo), _event(*cy),
                                          _event("old@feed", "20290101T090000", "Di", "d@x.io"))
    feed = feeds.add_feed(name="Practice", url=served.base + "/cal.ics", allow_private=True)
    db.session.commit()
    assert feeds.sync_feed(feed.id, now=NOW, **ZONE) == {
        "created": 3, "updated": 0, "unchanged": 0, "skipped": 0, "cancelled": 0}
    assert set(_visits()) == {"a@feed", "b@feed", "c@feed"}  # 2029 is outside the window

    moved = ("a@feed", "20300304T113000", "Ana Lopez", "ana@example.com")
    served.bodies["/cal.ics"] = _calendar(_event(*moved), _event(*bo))
    later = NOW + timedelta(minutes=15)
    received = []

    def listen(sender, **kw):
        received.append(kw)

    with feeds.appointments_synced.connected_to(listen):
        assert feeds.sync_feed(feed.id, now=later, **ZONE) == {
            "created": 0, "updated": 1, "unchanged": 1, "skipped": 0, "cancelled": 1}
    visits = _visits()
    assert visits["a@feed"].start_at == datetime(2030, 3, 4, 16, 30, tzinfo=UTC)
    assert visits["c@feed"].status == "cancelled"
    assert set(received[0]["appointment_ids"]) == {visits["a@feed"].id, visits["c@feed"].id}

    assert feeds.sync_feed(feed.id, now=later, **ZONE) is None  # not due yet
    assert feeds.sync_feed(feed.id, now=later, force=True, **ZONE) == {"not_modified": True}
    assert served.seen[-1].get("If-None-Match")
    feed = db.session.get(CalendarFeed, feed.id)
    assert (feed.last_error, feed.last_synced_at) == (None, later)


def test_private_addresses_and_other_schemes_are_refused(app, served):
    for url in ("file:///etc/passwd", "ftp://example.com/cal.ics", served.base + "/cal.ics",
                "http://169.254.169.254/latest/meta-data", "http://[::1]/cal.ics"):
        with pytest.raises(FeedError):
            feeds.add_feed(name="Bad", url=url)


def test_an_oversized_or_failing_feed_records_its_error_and_others_still_sync(app, served,
                                                                             run_worker):
    served.bodies["/big.ics"] = b"BEGIN:VCALENDAR\r\n" + b"X" * (5 * 1024 * 1024 + 1)
    served.bodies["/good.ics"] = _calendar(
        _event("g@feed", (datetime.now(UTC) + timedelta(days=2)).strftime("%Y%m%dT090000"),
               "Ana Lopez", "ana@example.com"))
    for name in ("big", "missing", "good"):
        feeds.add_feed(name=name, url=f"{served.base}/{name}.ics", allow_private=True)
    db.session.commit()
    assert sync_due_feeds() == 3
    run_worker(queues=("low",))
    errors = {f.name: f.last_error for f in db.session.scalars(select(CalendarFeed))}
    assert "larger than 5 MB" in errors["big"]
    assert errors["missing"] == "The feed answered HTTP 404."
    assert errors["good"] is None
    assert set(_visits()) == {"g@feed"}
    assert sync_due_feeds() == 0  # each was checked just now


def test_admins_add_a_feed_and_see_its_sync(app, client_for, served, run_worker):
    admin = client_for(Role.ADMIN)
    served.bodies["/cal.ics"] = _calendar(_event(
        "p@feed", (datetime.now(UTC) + timedelta(days=3)).strftime("%Y%m%dT090000"),
        "Ana Lopez", "ana@example.com"))
    form = {"name": "Practice", "url": served.base + "/cal.ics", "interval_minutes": "15",
            "window_days": "90"}
    refused = admin.post("/import/feeds", data=form)
    assert refused.status_code == 422
    assert "private or local address" in refused.get_data(as_text=True)
    assert admin.post("/import/feeds", data=form | {"allow_private": "y"}).status_code == 303
    run_worker(queues=("low",))
    page = admin.get("/import/feeds").get_data(as_text=True)
    assert "Practice" in page and "created 1" in page
    feed_id = db.session.scalar(select(CalendarFeed.id))
    assert admin.post(f"/import/feeds/{feed_id}/sync").status_code == 303
    run_worker(queues=("low",))
    assert served.seen[-1].get("If-None-Match")  # answered 304: the counts stay
    assert "created 1" in admin.get("/import/feeds").get_data(as_text=True)
    assert admin.post(f"/import/feeds/{feed_id}/delete").status_code == 303
    assert db.session.scalar(select(CalendarFeed.id)) is None
    assert len(_visits()) == 1  # its appointments stay
