"""The demo seeds one template of each kind and the usual rules, all valid."""

from sqlalchemy import select

from core.automation.models import AutomationRule, MessageTemplate, TemplateKind
from core.automation.rules import RuleData, check
from core.automation.templates import TemplateData
from core.automation.templates import check as check_template
from core.extensions import db


def test_seed_adds_templates_of_every_kind_and_rules(runner):
    result = runner.invoke(args=["seed", "--if-empty"])
    assert "6 templates, 6 automated-message rules" in result.output
    templates = {t.kind: t for t in db.session.scalars(select(MessageTemplate))}
    assert set(templates) == {k.value for k in TemplateKind}
    for t in templates.values():
        check_template(TemplateData(t.name, t.kind, t.channel, t.subject, t.body), t.id)
    assert "{{ staff }}" in templates["en_route"].body
    assert "{{ location }}" in templates["en_route"].body
    assert "{{ business_phone }}" in templates["thank_you"].body
    assert "{{ reply_hint }}" in templates["confirmation"].body
    rules = db.session.scalars(select(AutomationRule)).all()
    for r in rules:
        check(RuleData(r.name, r.kind, r.template_id, r.timing, r.amount, r.send_time, r.after,
                       r.status_trigger))
    assert {(r.timing, r.amount) for r in rules} >= {("days_before", 2), ("hours_before", 2),
                                                     ("days_before", 3), ("on_status", 0)}
