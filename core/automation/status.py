"""Status texts: En Route / Working / Completed change the status and send the rule's template
at once, exactly once per appointment and status (the rule's key)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.appointments import operations as appointments
from core.appointments.models import AppointmentStatus
from core.automation.engine import keyed, plan_rule
from core.automation.models import AutomationRule, RuleKind
from core.automation.rules import STATUS_TRIGGERS
from core.extensions import db
from core.messaging.models import Broadcast
from core.messaging.recipients import plan
from core.types import utcnow


@dataclass
class Outcome:
    """What a status button did, in words for the page."""

    changed: bool
    text: str
    broadcast_id: int | None = None
    sent: bool = False


def status_rule(status: str) -> AutomationRule | None:
    """The enabled status rule for this status (the oldest, when several are on)."""
    return db.session.scalar(select(AutomationRule).where(
        AutomationRule.kind == RuleKind.STATUS.value, AutomationRule.status_trigger == status,
        AutomationRule.enabled.is_(True)).order_by(AutomationRule.id).limit(1))


def skip_reason(rule: AutomationRule, appointment_id: int) -> str | None:
    """Why the rule's text would not reach this appointment's client (the fan-out's reasons)."""
    template = rule.template
    draft = Broadcast(channel=template.channel, subject=template.subject, body=template.body,
                      recipients={"appointment_ids": [appointment_id]})
    for row in plan(draft):
        return row.skip_reason
    return "The appointment is gone"


def change_status(appointment, status: str, *, actor=None, now: datetime | None = None):
    """Set the status, and send the status text when its rule is on; commits. The one path of
    the big buttons, the status drop-down and the edit form (which calls `status_text`)."""
    now = now or utcnow()
    changed = appointments.set_status(appointment, status, actor=actor, now=now)
    return status_text(appointment, status, changed, actor=actor, now=now)


def status_text(appointment, status: str, changed: bool = True, *, actor=None,
                now: datetime | None = None) -> Outcome:
    """Send the text of the appointment's new status when its rule is on, once per visit;
    commits (with the caller's status change). Says what was sent, or why not."""
    now = now or utcnow()
    label = AppointmentStatus(status).label if status in set(AppointmentStatus) else status
    if status not in STATUS_TRIGGERS:
        db.session.commit()
        return Outcome(changed, f"Status {label}.")
    label = STATUS_TRIGGERS[status]
    rule = status_rule(status)
    if rule is None:
        db.session.commit()
        return Outcome(changed, f"Status {label}. No text sent: the {label} text is off.")
    if appointment.id in keyed(rule.id, [appointment.id]):
        db.session.commit()
        return Outcome(changed, f"Status {label}. The {label} text was sent already.")
    if rule.paused_at is None:
        reason = skip_reason(rule, appointment.id)
        db.session.commit()  # the status change stands even when a quota refuses the text
        broadcast_id, count = plan_rule(rule, now, only=[appointment.id], actor=actor)
    if rule.paused_at is not None:  # paused before, or by this run (a monthly quota)
        db.session.commit()
        return Outcome(changed, f"Status {label}. No text sent: the {label} text is paused "
                       f"({rule.paused_reason})")
    if reason:
        return Outcome(changed, f"Status {label}. No text sent: {reason}.", broadcast_id)
    if not count:
        return Outcome(changed, f"Status {label}. No text sent.")
    name = appointment.client.name
    return Outcome(changed, f"Status {label}. “{rule.template.name}” is on its way to {name}.",
                   broadcast_id, sent=True)
