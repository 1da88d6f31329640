"""What a rule did and will do: the dry run of Run now, last 7 days, next 7 days forecast."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from core.appointments.models import Appointment, AppointmentStatus
from core.automation.engine import (
    FOLLOW_UP_LOOKBACK,
    due_select,
    follow_up_moment,
    local_day_bounds,
    not_keyed,
    rule_filters,
    window,
)
from core.automation.models import AutomationRule, AutomationSend, Timing
from core.extensions import db
from core.messaging.compose import SYNC_PLAN_LIMIT
from core.messaging.models import Broadcast, Channel, Message, Status
from core.messaging.recipients import client_names, count_reachable, plan
from core.messaging.templating import business_zone
from core.types import utcnow

DRY_RUN_ROWS = 200
SENT = (Status.SENT.value, Status.DELIVERED.value)
FAILED = (Status.FAILED.value, Status.EXPIRED.value)


@dataclass
class DryRow:
    """One appointment of a dry run: who, where to, what text, when, or why not."""

    name: str
    to_addr: str
    body: str
    start_at: datetime | None
    outcome: str  # "sends now", or why it does not
    sends: bool


@dataclass
class DryRun:
    rows: list[DryRow] = field(default_factory=list)
    sends: int = 0
    skipped: int = 0
    total: int = 0
    estimated: bool = False  # counted in SQL (a large run): invalid numbers are found later


def dry_run(rule: AutomationRule, now: datetime | None = None) -> DryRun:
    """What Run now would do at `now`, without writing anything: every recipient planned up to
    SYNC_PLAN_LIMIT appointments, beyond that counted in SQL with the first rows shown."""
    now = now or utcnow()
    result = DryRun()
    due = due_select(rule, now, run_now=True)
    if due is None:
        return result
    ordered = due.order_by(Appointment.start_at, Appointment.id)
    todo = db.session.execute(ordered.where(not_keyed(rule.id))).all()
    starts = {r.id: r.start_at for r in todo[:SYNC_PLAN_LIMIT]}
    ids = [r.id for r in todo]
    big = len(ids) > SYNC_PLAN_LIMIT
    planned = _plan(rule, ids[:DRY_RUN_ROWS] if big else ids)
    names = client_names({p.client_id for p in planned})
    for p in planned:
        sends = p.skip_reason is None
        result.sends += sends
        result.skipped += not sends
        if len(result.rows) < DRY_RUN_ROWS:
            result.rows.append(DryRow(names.get(p.client_id, "—"), p.to_addr, p.body,
                                      starts.get(p.appointment_id),
                                      "Sends now" if sends else f"Skipped: {p.skip_reason}",
                                      sends))
    if big:
        counts = count_reachable(Channel(rule.template.channel), ids)
        result.sends, result.skipped = counts.sendable, counts.total - counts.sendable
        result.estimated = True
    for appointment in _cancelled_in_window(rule, now):
        result.skipped += 1
        result.rows.append(DryRow(appointment.client.name, "", "", appointment.start_at,
                                  "Skipped: appointment cancelled", False))
    done = db.session.execute(ordered.where(~not_keyed(rule.id)).limit(DRY_RUN_ROWS)).all()
    result.skipped += db.session.scalar(
        select(func.count()).select_from(due.where(~not_keyed(rule.id)).subquery()))
    result.rows += [DryRow("", "", "", r.start_at, "Skipped: sent already by this rule", False)
                    for r in done]
    result.total = result.sends + result.skipped
    return result


def _plan(rule: AutomationRule, ids: list[int]) -> list:
    """The fan-out's own plan of the rule's template for these appointments."""
    if not ids:
        return []
    template = rule.template
    draft = Broadcast(channel=template.channel, subject=template.subject, body=template.body,
                      recipients={"appointment_ids": ids})
    return list(plan(draft))


def _cancelled_in_window(rule: AutomationRule, now: datetime) -> list[Appointment]:
    where = window(rule, now, run_now=True)
    if where is None:
        return []
    return list(db.session.scalars(select(Appointment).where(
        *where, Appointment.status == AppointmentStatus.CANCELLED.value)
        .order_by(Appointment.start_at).limit(DRY_RUN_ROWS)))


# ---- the rule's page: last 7 days and next 7 days ------------------------------------------


@dataclass
class Day:
    day: object
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    other: int = 0  # queued, cancelled, ...
    forecast: int = 0


def history(rule: AutomationRule, now: datetime | None = None, days: int = 7) -> list[Day]:
    """Messages of the rule's runs per local day (the last `days` days), by outcome."""
    now, zone = now or utcnow(), business_zone()
    today = now.astimezone(zone).date()
    broadcasts = select(AutomationSend.broadcast_id).where(
        AutomationSend.rule_id == rule.id).distinct().scalar_subquery()
    result = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        start, end = local_day_bounds(day, zone)
        counts = dict(db.session.execute(
            select(Message.status, func.count()).where(
                Message.broadcast_id.in_(broadcasts), Message.created_at >= start,
                Message.created_at < end).group_by(Message.status)).all())
        entry = Day(day, sent=sum(counts.get(s, 0) for s in SENT),
                    skipped=counts.get(Status.SKIPPED.value, 0),
                    failed=sum(counts.get(s, 0) for s in FAILED))
        entry.other = sum(counts.values()) - entry.sent - entry.skipped - entry.failed
        result.append(entry)
    return result


def forecast(rule: AutomationRule, now: datetime | None = None, days: int = 7) -> list[Day]:
    """How many messages the rule would still send on each of the next `days` local days
    (from today; those sent already are left out), as the schedule stands now."""
    now, zone = now or utcnow(), business_zone()
    today = now.astimezone(zone).date()
    timing, amount = Timing(rule.timing), rule.amount or 0
    result = []
    for ahead in range(days):
        day = today + timedelta(days=ahead)
        start, end = local_day_bounds(day, zone)
        if timing == Timing.DAYS_BEFORE:
            first, last = local_day_bounds(day + timedelta(days=amount), zone)
            where = [Appointment.start_at >= max(first, now), Appointment.start_at < last]
        elif timing == Timing.HOURS_BEFORE:  # today: also what is due already, unsent
            shift = timedelta(hours=amount)
            first = now if ahead == 0 else start + shift
            where = [Appointment.start_at > first, Appointment.start_at < end + shift]
        elif timing == Timing.HOURS_AFTER:
            shift = timedelta(hours=amount)
            first = now - shift - FOLLOW_UP_LOOKBACK if ahead == 0 else start - shift
            since = follow_up_moment(rule)
            where = [since >= first, since < end - shift]
        else:
            result.append(Day(day))
            continue
        count = db.session.scalar(select(func.count()).select_from(Appointment)
                                  .where(*rule_filters(rule), *where, not_keyed(rule.id)))
        result.append(Day(day, forecast=count or 0))
    return result
