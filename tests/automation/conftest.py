"""Factories for automation tests: templates and rules."""

import pytest

from core.automation.models import AutomationRule, MessageTemplate
from core.extensions import db


@pytest.fixture
def make_template(app):
    """Factory: make_template(kind=..., body=...) -> a committed MessageTemplate."""
    counter = iter(range(1, 10_000))

    def make(**overrides) -> MessageTemplate:
        values = {"name": f"Template {next(counter)}", "kind": "reminder", "channel": "sms",
                  "subject": "", "body": "Hi {{ first_name }}, see you {{ appointment_datetime }}."}
        values.update(overrides)
        template = MessageTemplate(**values)
        db.session.add(template)
        db.session.commit()
        return template

    return make


@pytest.fixture
def make_rule(app, make_template):
    """Factory: make_rule(timing="days_before", amount=2, ...) -> a committed AutomationRule."""
    counter = iter(range(1, 10_000))

    def make(**overrides) -> AutomationRule:
        template = overrides.pop("template", None) or make_template(
            kind=overrides.get("kind", "reminder"))
        values = {"name": f"Rule {next(counter)}", "kind": "reminder", "template_id": template.id,
                  "timing": "days_before", "amount": 2, "send_time": "09:00", "enabled": True,
                  "after": "completed", "status_trigger": "", "staff": "", "location": "",
                  "title_contains": ""}
        values.update(overrides)
        rule = AutomationRule(**values)
        db.session.add(rule)
        db.session.commit()
        return rule

    return make
