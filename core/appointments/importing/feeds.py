"""Calendar feeds: add one, and sync it (new and changed events in, vanished ones cancelled).

A sync reads the feed like an uploaded calendar, keeps the events and visits within its
window (today + window_days), writes the valid ones (rows with errors are skipped and
counted), and cancels the appointments it brought earlier whose event is gone from that
window. Each feed syncs in its own job and records its own error: one failing feed never
blocks the others.
"""

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from blinker import Namespace
from sqlalchemy import delete, insert, select

from core.appointments.importing import preferences
from core.appointments.importing.fetching import FeedError, check_url, fetch
from core.appointments.importing.matching import resolve
from core.appointments.importing.models import CalendarFeed, FeedAppointment
from core.appointments.importing.reading import read_upload
from core.appointments.importing.rows import ImportFileError, Preview
from core.appointments.importing.writing import write
from core.appointments.models import Appointment, AppointmentStatus
from core.appointments.signals import changed
from core.audit.models import AuditEvent
from core.extensions import db
from core.types import utcnow

log = logging.getLogger(__name__)
signals = Namespace()
# Sent after a sync changed appointments (ids of those moved, changed or cancelled), so that
# features such as automation can move or drop what they planned for them.
appointments_synced = signals.signal("appointments-synced")


def add_feed(*, name: str, url: str, own_addresses: str = "", allow_private: bool = False,
             interval_minutes: int = 15, window_days: int = 90) -> CalendarFeed:
    """A new feed (its address checked against the SSRF rules first); the caller commits."""
    check_url(url, allow_private)
    feed = CalendarFeed(name=name, url=url, own_addresses=own_addresses,
                        allow_private=allow_private, interval_minutes=interval_minutes,
                        window_days=window_days)
    db.session.add(feed)
    return feed


def delete_feed(feed_id: int) -> None:
    """Stop syncing a feed; its appointments stay. The caller commits."""
    db.session.execute(delete(FeedAppointment).where(FeedAppointment.feed_id == feed_id))
    db.session.execute(delete(CalendarFeed).where(CalendarFeed.id == feed_id))


def all_feeds() -> list[CalendarFeed]:
    return list(db.session.scalars(select(CalendarFeed).order_by(CalendarFeed.name)))


def due_feeds(now: datetime | None = None) -> list[int]:
    """The ids of the feeds whose interval has passed."""
    now = now or utcnow()
    return [feed.id for feed in db.session.scalars(select(CalendarFeed).order_by(CalendarFeed.id))
            if feed.is_due(now)]


def sync_feed(feed_id: int, *, tz: str, region: str, force: bool = False,
              now: datetime | None = None) -> dict | None:
    """Fetch and import one feed; commits. Returns the counts, or None when nothing was done."""
    feed = db.session.get(CalendarFeed, feed_id)
    now = now or utcnow()
    if feed is None or not (force or feed.is_due(now)):
        return None
    feed.last_checked_at = now
    try:
        counts, changed = _sync(feed, tz, region, now)
    except (FeedError, ImportFileError) as exc:
        db.session.rollback()
        feed = db.session.get(CalendarFeed, feed_id)
        feed.last_checked_at, feed.last_error = now, str(exc)[:500]
        db.session.commit()
        log.info("feed %d failed: %s", feed_id, exc)
        return None
    feed.last_error = None
    db.session.commit()
    log.info("feed %d synced: %s", feed_id, counts)
    if changed:  # after the commit, so that receivers read what was written
        appointments_synced.send(feed, appointment_ids=changed)
    return counts


def _sync(feed: CalendarFeed, tz: str, region: str, now: datetime) -> tuple[dict, list[int]]:
    """Fetch, import and cancel; the counts and the ids of the appointments changed."""
    fetched = fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified,
                    allow_private=feed.allow_private)
    if fetched.body is None:
        return {"not_modified": True}, []
    first = now.astimezone(ZoneInfo(tz)).date()
    options = preferences.options(
        tz=tz, region=region, own=frozenset(a.strip().lower() for a in
                                            feed.own_addresses.replace(";", ",").split(",")),
        window_start=first, window_days=feed.window_days)
    upload = read_upload(f"{feed.name}.ics", fetched.body, options)
    start = datetime.combine(first, datetime.min.time(), ZoneInfo(tz))
    upload = _within(upload, start, start + timedelta(days=feed.window_days))
    resolve(upload.rows)
    result = write(upload, actor_id=None)
    changed = [row.appointment_id for row in upload.to_write if row.appointment_id]
    cancelled = _link_and_cancel(feed, upload, start, start + timedelta(days=feed.window_days))
    feed.etag, feed.last_modified = fetched.etag, fetched.last_modified
    feed.last_synced_at = now
    feed.last_counts = {"created": result.created, "updated": result.updated,
                        "unchanged": result.unchanged, "skipped": result.skipped,
                        "cancelled": len(cancelled)}
    return feed.last_counts, changed + cancelled


def _within(upload: Preview, start: datetime, end: datetime) -> Preview:
    """Only the rows that start inside the window (a feed may hold years of history)."""
    rows = [row for row in upload.rows
            if row.errors or (row.appointment.get("start_at")
                              and start <= row.appointment["start_at"] < end)]
    return Preview(upload.kind, upload.filename, rows, partial=True)


def _link_and_cancel(feed: CalendarFeed, upload: Preview, start: datetime,
                     end: datetime) -> list[int]:
    """Remember which appointments the feed holds; cancel those whose event left it."""
    uids = {row.appointment["external_uid"] for row in upload.valid
            if row.appointment.get("external_uid")}
    # An event that could not be read this time is not gone: its appointments stay as they are.
    unread = tuple({row.appointment["external_uid"] for row in upload.skipped
                    if row.appointment.get("external_uid")})
    held = set(db.session.scalars(select(FeedAppointment.appointment_id)
                                  .where(FeedAppointment.feed_id == feed.id)))
    seen = {appointment_id for chunk in _chunks(sorted(uids)) for appointment_id in
            db.session.scalars(select(Appointment.id).where(Appointment.external_uid.in_(chunk)))}
    if seen - held:
        db.session.execute(insert(FeedAppointment), [
            {"feed_id": feed.id, "appointment_id": i} for i in sorted(seen - held)])
    gone = db.session.scalars(select(Appointment).where(
        Appointment.id.in_(sorted(held - seen)), Appointment.start_at >= start,
        Appointment.start_at < end, Appointment.status != AppointmentStatus.CANCELLED))
    cancelled = []
    for appointment in gone:
        if unread and (appointment.external_uid or "").split("/")[0] in unread:
            continue
        before = appointment.status
        appointment.mark_status(AppointmentStatus.CANCELLED)
        changed.send(appointment, changes={"status": [before, appointment.status]}, actor=None)
        cancelled.append(appointment.id)
        db.session.add(AuditEvent(action="imported", client_id=appointment.client_id,
                                  appointment_id=appointment.id, at=utcnow(),
                                  summary=f"Cancelled: its event left the feed {feed.name}"))
    return cancelled


def _chunks(values: list, size: int = 500) -> list[list]:
    return [values[i:i + size] for i in range(0, len(values), size)]
