"""The rule engine: what is due at `now`, keyed exactly once, handed to the fan-out as one
broadcast per rule run.

Exactly once comes from the database: `automation_sends` is unique on (rule, appointment,
appointment start). A run inserts the due appointments there with ON CONFLICT (INSERT … SELECT,
one statement whatever the count), writes ONE broadcast for the rows it actually inserted and
commits both together, then starts the broadcast. Run now pressed twice, an overlapping daily
run, a second scheduler or a crash between commit and start (the sweeper restarts the
broadcast) all meet the key, so nothing is planned twice.
"""

import logging
from datetime import UTC, datetime, time, timedelta

from flask import current_app
from sqlalchemy import and_, exists, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from core.appointments.models import Appointment, AppointmentStatus
from core.audit.operations import record
from core.automation import quota
from core.automation.models import AutomationRule, AutomationSend, RuleKind, SendStatus, Timing
from core.bulk import analyze_after_bulk
from core.confirmations.operations import mark_requested
from core.extensions import db
from core.messaging.models import Broadcast, BroadcastStatus
from core.messaging.pipeline import start_broadcast
from core.messaging.templating import business_zone
from core.types import UTCDateTime, utcnow

log = logging.getLogger(__name__)

FOLLOW_UP_LOOKBACK = timedelta(days=2)  # a follow-up older than this is not sent late
SENDS = AutomationSend.__table__
KEY = ("appointment_id", "rule_id", "appointment_start")


def local_day_bounds(day, zone) -> tuple[datetime, datetime]:
    """The UTC instants at which local calendar `day` starts and ends in `zone`."""
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


def daily_moment(rule: AutomationRule, day, zone) -> datetime:
    """The UTC instant of the rule's daily send time on local `day` (DST-aware)."""
    hour, minute = (int(part) for part in (rule.send_time or "09:00").split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)


def rule_filters(rule: AutomationRule) -> list:
    """SQL conditions for the rule's "who": staff, location, title; never a cancelled one."""
    where = [Appointment.status != AppointmentStatus.CANCELLED.value]
    if rule.staff:
        where.append(func.lower(Appointment.staff) == rule.staff.strip().lower())
    if rule.location:
        where.append(Appointment.location.icontains(rule.location.strip(), autoescape=True))
    if rule.title_contains:
        where.append(Appointment.title.icontains(rule.title_contains.strip(), autoescape=True))
    return where


def window(rule: AutomationRule, now: datetime, run_now: bool = False) -> list | None:
    """SQL conditions for the appointments the rule is due for at `now`; None when nothing is
    (a day-based rule before its daily time, a status rule outside a status change)."""
    timing, amount = Timing(rule.timing), rule.amount or 0
    if timing == Timing.DAYS_BEFORE:
        zone = business_zone()
        today = now.astimezone(zone).date()
        if not run_now and now < daily_moment(rule, today, zone):
            return None
        start, end = local_day_bounds(today + timedelta(days=amount), zone)
        return [Appointment.start_at >= max(start, now), Appointment.start_at < end]
    if timing == Timing.HOURS_BEFORE:
        return [Appointment.start_at > now,
                Appointment.start_at <= now + timedelta(hours=amount)]
    if timing == Timing.HOURS_AFTER:
        until, since = now - timedelta(hours=amount), follow_up_moment(rule)
        where = [since <= until, since > until - FOLLOW_UP_LOOKBACK]
        if rule.after == "completed":
            where.append(Appointment.status == AppointmentStatus.COMPLETED.value)
        return where
    return None


def follow_up_moment(rule: AutomationRule):
    """SQL: the moment a follow-up counts from: when the appointment became Completed (else,
    for one completed before that was recorded, its end), or its end for an "end" rule."""
    if rule.after == "completed":
        return func.coalesce(Appointment.completed_at, Appointment.end_at)
    return Appointment.end_at


def due_select(rule: AutomationRule, now: datetime, *, run_now=False, only=None):
    """SELECT Appointment.id, start_at of what the rule is due for, or None."""
    if rule.kind == RuleKind.STATUS:
        if not only:
            return None
        where = [Appointment.id.in_(list(only)),
                 Appointment.status == rule.status_trigger]
    else:
        where = window(rule, now, run_now)
        if where is None:
            return None
        if only:
            where.append(Appointment.id.in_(list(only)))
    return select(Appointment.id, Appointment.start_at).where(*rule_filters(rule), *where)


def not_keyed(rule_id: int):
    """Appointments with no live key for this rule at their current start."""
    return ~exists().where(SENDS.c.rule_id == rule_id,
                           SENDS.c.appointment_id == Appointment.id,
                           SENDS.c.appointment_start == Appointment.start_at,
                           SENDS.c.status == SendStatus.PLANNED.value)


def _key(rule_id: int, broadcast_id: int, due, now: datetime) -> list[int]:
    """Insert the due appointments' keys; the ids actually keyed now (a cancelled key, left
    by a reschedule, is planned afresh)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    rows = due.with_only_columns(
        Appointment.id, literal(rule_id), Appointment.start_at, literal(broadcast_id),
        literal(now, UTCDateTime), literal(SendStatus.PLANNED.value))
    statement = dialect.insert(SENDS).from_select(
        [*KEY, "broadcast_id", "planned_at", "status"], rows)
    statement = statement.on_conflict_do_update(
        index_elements=list(KEY),
        set_={"status": SendStatus.PLANNED.value,
              "broadcast_id": statement.excluded.broadcast_id,
              "planned_at": statement.excluded.planned_at},
        where=SENDS.c.status == SendStatus.CANCELLED.value,
    ).returning(SENDS.c.appointment_id)
    return sorted(db.session.scalars(statement))


def mark_requested_in_chunks(ids: list[int], chunk: int = 5000, to: str | None = None) -> None:
    """mark_requested over any number of ids (SQLite caps the values of one statement)."""
    for first in range(0, len(ids), chunk):
        mark_requested(ids[first:first + chunk], to=to)


def plan_rule(rule: AutomationRule, now: datetime | None = None, *, run_now=False, only=None,
              actor=None) -> tuple[int | None, int]:
    """Key what the rule is due for and write one broadcast for it, committed together, then
    start it. Returns (broadcast id, messages planned); (None, 0) when nothing was due."""
    now = now or utcnow()
    if rule.paused_at is not None:  # a monthly quota paused it; an Admin resumes it
        db.session.commit()
        return None, 0
    due = due_select(rule, now, run_now=run_now, only=only)
    if due is None or not db.session.scalar(select(due.where(not_keyed(rule.id)).exists())):
        db.session.commit()  # also commits a status change made by the caller
        return None, 0
    template = rule.template
    broadcast = Broadcast(
        created_by_id=getattr(actor, "id", None), channel=template.channel,
        subject=template.subject, body=template.body, recipients={"appointment_ids": []},
        status=BroadcastStatus.PENDING.value,
        options={"automation": {"rule_id": rule.id, "kind": rule.kind,
                                "template_id": template.id, "run_now": bool(run_now)}},
    )
    db.session.add(broadcast)
    db.session.flush()
    ids = _key(rule.id, broadcast.id, due, now)
    if not ids:  # another run keyed them first
        db.session.rollback()
        return None, 0
    broadcast.recipients, broadcast.total = {"appointment_ids": ids}, len(ids)
    try:
        quota.reserve(broadcast, ids)
    except ValueError as exc:  # over a monthly quota: nothing of this run goes out
        db.session.rollback()
        quota.pause(rule, str(exc), now)
        db.session.commit()
        return None, 0
    if rule.kind == RuleKind.CONFIRMATION:
        mark_requested_in_chunks(ids)
    record("automation.run", f"Rule “{rule.name}” planned {len(ids):,} message(s)"
           f"{' (Run now)' if run_now else ''}", actor=actor,
           data={"rule_id": rule.id, "broadcast_id": broadcast.id})
    broadcast_id = broadcast.id
    db.session.commit()
    # The fan-out checks each chunk against these keys by index: PostgreSQL must know the rows.
    analyze_after_bulk(SENDS, len(ids), current_app.config.get("ANALYZE_AFTER_ROWS", 10_000))
    start_broadcast(broadcast_id)
    log.info("rule %s planned %d messages in broadcast %s", rule.id, len(ids), broadcast_id)
    return broadcast_id, len(ids)


def run_due(now: datetime | None = None) -> dict[int, int]:
    """Plan every enabled timed rule due at `now` (the periodic job); {rule id: planned}."""
    now = now or utcnow()
    rules = db.session.scalars(select(AutomationRule).where(
        AutomationRule.enabled.is_(True), AutomationRule.paused_at.is_(None),
        AutomationRule.kind != RuleKind.STATUS.value)
        .order_by(AutomationRule.id)).all()
    planned = {}
    for rule in rules:
        try:
            _, count = plan_rule(rule, now)
        except Exception:  # one broken rule must not stop the others
            db.session.rollback()
            log.exception("rule %s failed to plan", rule.id)
            continue
        if count:
            planned[rule.id] = count
    return planned


def keyed(rule_id: int, appointment_ids: list[int]) -> set[int]:
    """Those of the appointments that already have a live key for the rule at their start."""
    if not appointment_ids:
        return set()
    return set(db.session.scalars(
        select(Appointment.id).join(SENDS, and_(
            SENDS.c.appointment_id == Appointment.id, SENDS.c.rule_id == rule_id,
            SENDS.c.appointment_start == Appointment.start_at,
            SENDS.c.status == SendStatus.PLANNED.value))
        .where(Appointment.id.in_(appointment_ids))))
