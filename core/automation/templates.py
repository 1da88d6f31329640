"""Message templates: list, check, save, delete (refused while a rule uses one), preview."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select

from core.appointments.models import Appointment, AppointmentStatus
from core.audit.models import AuditEvent
from core.audit.operations import record
from core.automation.models import AutomationRule, MessageTemplate, TemplateKind
from core.clients.models import Client
from core.extensions import db
from core.messaging import segments
from core.messaging.models import Channel
from core.messaging.templating import TemplateError, compile_template, render
from core.problems import FieldProblem
from core.types import utcnow

CHANNELS = {"sms": "Text (SMS)", "email": "Email", "voice": "Voice (text-to-speech)"}


class TemplateProblem(FieldProblem):
    """A template that cannot be saved or deleted; `field` names the form field at fault."""


@dataclass
class TemplateData:
    """What staff set on a template."""

    name: str
    kind: str
    channel: str
    subject: str
    body: str


def all_templates(kind: str | None = None) -> list[MessageTemplate]:
    """Every template (of one kind), by name."""
    query = select(MessageTemplate).order_by(MessageTemplate.name)
    if kind:
        query = query.where(MessageTemplate.kind == kind)
    return list(db.session.scalars(query))


def get(template_id: int) -> MessageTemplate | None:
    """The template with this id, or None."""
    return db.session.get(MessageTemplate, template_id)


def check(data: TemplateData, template_id: int | None = None) -> dict:
    """The cleaned values, or TemplateProblem for the first thing to fix."""
    values = {"name": " ".join((data.name or "").split()), "kind": data.kind,
              "channel": data.channel, "subject": " ".join((data.subject or "").split()),
              "body": (data.body or "").replace("\r\n", "\n").replace("\r", "\n")}
    if not values["name"]:
        raise TemplateProblem("name", "Give the template a name.")
    clash = select(MessageTemplate.id).where(
        func.lower(MessageTemplate.name) == values["name"].lower(),
        MessageTemplate.id != (template_id or 0))
    if db.session.scalar(clash) is not None:
        raise TemplateProblem("name", f"A template called “{values['name']}” exists already.")
    if values["kind"] not in TemplateKind.__members__.values():
        raise TemplateProblem("kind", "Choose what the template is for.")
    if values["channel"] not in CHANNELS:
        raise TemplateProblem("channel", "Choose text, email or voice.")
    if values["channel"] != Channel.EMAIL:
        values["subject"] = ""
    elif not values["subject"]:
        raise TemplateProblem("subject", "Write a subject for the email.")
    if not values["body"].strip():
        raise TemplateProblem("body", "Write the message: the text is empty.")
    for field in ("subject", "body"):
        try:
            compile_template(values[field])
        except TemplateError as exc:
            raise TemplateProblem(field, str(exc)) from None
    if values["channel"] == Channel.SMS and len(values["body"]) > segments.MAX_SMS_CHARS:
        raise TemplateProblem("body", f"A text may be at most {segments.MAX_SMS_CHARS:,} "
                                      "characters.")
    return values


def save(data: TemplateData, *, actor=None, template: MessageTemplate | None = None):
    """Create or update a template, audited; the caller commits. Messages already queued or
    sent keep their own rendered text, so an edit never changes them."""
    values = check(data, template.id if template else None)
    created = template is None
    template = template or MessageTemplate()
    for key, value in values.items():
        setattr(template, key, value)
    db.session.add(template)
    db.session.flush()
    verb = "created" if created else "edited"
    record(f"template.{verb}", f"Template “{template.name}” {verb}", actor=actor,
           data={"template_id": template.id})
    return template


def rules_using(template_id: int) -> list[str]:
    """Names of the rules that send this template."""
    return list(db.session.scalars(select(AutomationRule.name).where(
        AutomationRule.template_id == template_id).order_by(AutomationRule.name)))


def rules_by_template() -> dict[int, list[str]]:
    """Rule names per template id, in one query (the Templates list)."""
    used: dict[int, list[str]] = {}
    for template_id, name in db.session.execute(
            select(AutomationRule.template_id, AutomationRule.name)
            .order_by(AutomationRule.name)):
        used.setdefault(template_id, []).append(name)
    return used


def delete(template: MessageTemplate, *, actor=None) -> None:
    """Delete a template no rule uses, audited; the caller commits."""
    users = rules_using(template.id)
    if users:
        names = ", ".join(f"“{n}”" for n in users)
        raise TemplateProblem("name", f"“{template.name}” is used by the rule"
                              f"{'s' if len(users) > 1 else ''} {names}: change or delete "
                              f"{'them' if len(users) > 1 else 'it'} first.")
    record("template.deleted", f"Template “{template.name}” deleted", actor=actor,
           data={"template_id": template.id})
    db.session.delete(template)


def recent_changes(prefixes=("template.",), limit: int = 20) -> list[AuditEvent]:
    """The latest audited changes whose action starts with one of `prefixes`."""
    return list(db.session.scalars(
        select(AuditEvent).where(or_(*(AuditEvent.action.startswith(p) for p in prefixes)))
        .order_by(AuditEvent.id.desc()).limit(limit)))


# ---- preview ---------------------------------------------------------------------------


class _Sample:
    """A made-up client and appointment for previews when there is no real one."""

    first_name, last_name, company = "Alex", "Sample", "Sample Co"
    staff, location, title, job_number = "Dr. Lee", "12 Main Street", "Check-up", "J-1001"
    confirmation_code = None

    def __init__(self, now: datetime):
        self.start_at = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=1)


def sample(now: datetime | None = None):
    """(client, appointment, is_real): the next upcoming appointment, else a made-up one."""
    now = now or utcnow()
    appointment = db.session.scalar(
        select(Appointment).join(Client)
        .where(Appointment.start_at > now, Appointment.status != AppointmentStatus.CANCELLED)
        .order_by(Appointment.start_at, Appointment.id).limit(1))
    if appointment is None:
        made_up = _Sample(now)
        return made_up, made_up, False
    return appointment.client, appointment, True


@dataclass
class Preview:
    """A template rendered for the sample, measured as a text."""

    subject: str = ""
    body: str = ""
    error: str = ""
    info: segments.SegmentInfo | None = None
    real: bool = False
    who: str = ""


def preview(channel: str, subject: str, body: str, now: datetime | None = None) -> Preview:
    """The template's text for the sample appointment, or the error that stops it."""
    person, appointment, real = sample(now)
    result = Preview(real=real, who=f"{person.first_name} {person.last_name}".strip())
    try:
        result.subject = render(subject or "", person, appointment) if channel == "email" else ""
        result.body = render((body or "").replace("\r\n", "\n"), person, appointment)
    except TemplateError as exc:
        result.error = str(exc)
        return result
    result.info = segments.count(result.body)
    return result
