"""Automation rules: list, check, save, switch on and off, delete."""

import re
from dataclasses import dataclass

from sqlalchemy import select

from core.appointments.models import AppointmentStatus
from core.audit.operations import record
from core.automation.models import AutomationRule, MessageTemplate, RuleKind, Timing
from core.extensions import db
from core.problems import FieldProblem

STATUS_TRIGGERS = {AppointmentStatus.EN_ROUTE.value: "En Route",
                   AppointmentStatus.WORKING.value: "Working",
                   AppointmentStatus.COMPLETED.value: "Completed"}
TIMINGS = {RuleKind.REMINDER: (Timing.DAYS_BEFORE, Timing.HOURS_BEFORE),
           RuleKind.CONFIRMATION: (Timing.DAYS_BEFORE, Timing.HOURS_BEFORE),
           RuleKind.FOLLOW_UP: (Timing.HOURS_AFTER,),
           RuleKind.STATUS: (Timing.ON_STATUS,)}
LIMITS = {Timing.DAYS_BEFORE: 60, Timing.HOURS_BEFORE: 24 * 14, Timing.HOURS_AFTER: 24 * 14}
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class RuleProblem(FieldProblem):
    """A rule that cannot be saved; `field` names the form field at fault."""


@dataclass
class RuleData:
    """What an admin sets on a rule."""

    name: str
    kind: str
    template_id: int
    timing: str
    amount: int = 0
    send_time: str = "09:00"
    after: str = "completed"
    status_trigger: str = ""
    staff: str = ""
    location: str = ""
    title_contains: str = ""
    enabled: bool = True


def all_rules() -> list[AutomationRule]:
    """Every rule, by kind and name."""
    return list(db.session.scalars(select(AutomationRule)
                                   .order_by(AutomationRule.kind, AutomationRule.name)))


def get(rule_id: int) -> AutomationRule | None:
    """The rule with this id, or None."""
    return db.session.get(AutomationRule, rule_id)


def check(data: RuleData) -> dict:
    """The cleaned values, or RuleProblem for the first thing to fix."""
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in vars(data).items()}
    if not values["name"]:
        raise RuleProblem("name", "Give the rule a name.")
    try:
        kind = RuleKind(values["kind"])
    except ValueError:
        raise RuleProblem("kind", "Choose what the rule sends.") from None
    if db.session.get(MessageTemplate, values["template_id"] or 0) is None:
        raise RuleProblem("template_id", "Choose a template (make one on the Templates page).")
    timing = _timing(kind, values["timing"])
    values["timing"] = timing.value
    if timing == Timing.ON_STATUS:
        if values["status_trigger"] not in STATUS_TRIGGERS:
            raise RuleProblem("status_trigger", "Choose the status that sends this text.")
        values["amount"] = 0
    else:
        values["status_trigger"] = ""
        _check_amount(timing, values["amount"])
    if timing == Timing.DAYS_BEFORE and not CLOCK.match(values["send_time"] or ""):
        raise RuleProblem("send_time", "Write the daily time as HH:MM, for example 09:00.")
    if values["after"] not in ("completed", "end"):
        values["after"] = "completed"
    return values


def _timing(kind: RuleKind, value: str) -> Timing:
    allowed = TIMINGS[kind]
    if len(allowed) == 1:
        return allowed[0]
    if value not in allowed:
        raise RuleProblem("timing", "Choose days before (at a daily time) or hours before.")
    return Timing(value)


def _check_amount(timing: Timing, amount) -> None:
    limit = LIMITS[timing]
    unit = "days" if timing == Timing.DAYS_BEFORE else "hours"
    low = 0 if timing == Timing.DAYS_BEFORE else 1
    if amount is None or not low <= amount <= limit:
        raise RuleProblem("amount", f"Choose between {low} and {limit} {unit}.")


def save(data: RuleData, *, actor=None, rule: AutomationRule | None = None) -> AutomationRule:
    """Create or update a rule, audited; the caller commits."""
    values = check(data)
    created = rule is None
    rule = rule or AutomationRule()
    for key, value in values.items():
        setattr(rule, key, value)
    db.session.add(rule)
    db.session.flush()
    verb = "created" if created else "edited"
    record(f"rule.{verb}", f"Rule “{rule.name}” {verb}", actor=actor, data={"rule_id": rule.id})
    return rule


def set_enabled(rule: AutomationRule, enabled: bool, *, actor=None) -> None:
    """Switch a rule on or off, audited; the caller commits."""
    rule.enabled = enabled
    record("rule.enabled" if enabled else "rule.disabled",
           f"Rule “{rule.name}” switched {'on' if enabled else 'off'}", actor=actor,
           data={"rule_id": rule.id})


def delete(rule: AutomationRule, *, actor=None) -> None:
    """Delete a rule (its record of past sends goes with it), audited; the caller commits."""
    record("rule.deleted", f"Rule “{rule.name}” deleted", actor=actor, data={"rule_id": rule.id})
    db.session.delete(rule)


def describe(rule: AutomationRule) -> str:
    """When the rule sends, in words: '2 days before, at 09:00'."""
    timing, n = Timing(rule.timing), rule.amount
    if timing == Timing.DAYS_BEFORE:
        day = "on the day" if n == 0 else f"{n} day{'s' if n != 1 else ''} before"
        return f"{day}, at {rule.send_time}"
    if timing == Timing.HOURS_BEFORE:
        return f"{n} hour{'s' if n != 1 else ''} before the start"
    if timing == Timing.HOURS_AFTER:
        what = "the appointment is completed" if rule.after == "completed" else "the end"
        return f"{n} hour{'s' if n != 1 else ''} after {what}"
    return f"when the status changes to {STATUS_TRIGGERS.get(rule.status_trigger, '?')}"


def who(rule: AutomationRule) -> str:
    """Which appointments, in words."""
    parts = []
    if rule.staff:
        parts.append(f"staff {rule.staff}")
    if rule.location:
        parts.append(f"location contains “{rule.location}”")
    if rule.title_contains:
        parts.append(f"title contains “{rule.title_contains}”")
    return "; ".join(parts) or "All appointments"
