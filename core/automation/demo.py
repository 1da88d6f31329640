"""The demo business's templates (one of each kind) and rules, worded as a clinic would."""

from core.automation.models import AutomationRule, MessageTemplate
from core.extensions import db

TEMPLATES = [
    ("Appointment reminder", "reminder",
     "Hi {{ first_name }}, this is a reminder of your {{ service }} with {{ staff }} on "
     "{{ appointment_datetime }} at {{ location }}. Need to change it? Call us on "
     "{{ business_phone }}. – {{ business_name }}"),
    ("Please confirm", "confirmation",
     "Hi {{ first_name }}, please confirm your {{ service }} with {{ staff }} on "
     "{{ appointment_datetime }}. {{ reply_hint }}"),
    ("On our way", "en_route",
     "Hi {{ first_name }}, {{ staff }} is on the way to {{ location }} and will be with you "
     "shortly. – {{ business_name }}"),
    ("Work started", "working",
     "Hi {{ first_name }}, {{ staff }} has started your {{ service }}. We will let you know "
     "when it is done."),
    ("Thank you", "thank_you",
     "Thank you for choosing {{ business_name }}, {{ first_name }}! Questions about today's "
     "{{ service }}? Call us on {{ business_phone }}."),
    ("Closed today", "general",
     "Hi {{ first_name }}, {{ business_name }} is closed today because of the weather. We will "
     "call you to rebook. Questions: {{ business_phone }}."),
]
# (name, kind, template, timing, amount, send time, status trigger)
RULES = [
    ("Reminder 2 days before", "reminder", "Appointment reminder", "days_before", 2, "09:00", ""),
    ("Reminder 2 hours before", "reminder", "Appointment reminder", "hours_before", 2, "09:00",
     ""),
    ("Confirmation 3 days before", "confirmation", "Please confirm", "days_before", 3, "10:00",
     ""),
    ("En Route text", "status", "On our way", "on_status", 0, "09:00", "en_route"),
    ("Working text", "status", "Work started", "on_status", 0, "09:00", "working"),
    ("Thank you 2 hours after", "follow_up", "Thank you", "hours_after", 2, "09:00", ""),
]


def seed_automation() -> tuple[int, int]:
    """Add the demo templates and rules (the caller commits); (templates, rules) added."""
    by_name = {}
    for name, kind, body in TEMPLATES:
        by_name[name] = MessageTemplate(name=name, kind=kind, channel="sms", subject="",
                                        body=body)
        db.session.add(by_name[name])
    db.session.flush()
    for name, kind, template, timing, amount, send_time, trigger in RULES:
        db.session.add(AutomationRule(
            name=name, kind=kind, template_id=by_name[template].id, timing=timing, amount=amount,
            send_time=send_time, status_trigger=trigger, after="completed", staff="",
            location="", title_contains="", enabled=True))
    return len(TEMPLATES), len(RULES)
