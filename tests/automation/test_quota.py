"""Monthly quotas on rule runs: a run that would go over pauses its rule and sends nothing of
that run; Admins see it (rule page, rules list, a banner) and resume it."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from core import settings
from core.auth.models import Role
from core.automation.engine import plan_rule, run_due
from core.automation.models import AutomationRule, AutomationSend
from core.automation.status import change_status
from core.extensions import db
from core.messaging.models import Broadcast
from core.usage import quotas


def _quota(messages: str) -> None:
    settings.set("quota_transactional_messages", messages)
    db.session.commit()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _due_soon(make_appointment, n: int) -> list[int]:
    soon = datetime.now(UTC) + timedelta(hours=1)
    return [make_appointment(start_at=soon + timedelta(minutes=i)).id for i in range(n)]


def test_a_run_over_the_quota_pauses_the_rule_and_sends_nothing(client_for, make_rule,
                                                                make_appointment):
    _quota("2")
    rule = make_rule(name="Two hours before", timing="hours_before", amount=2)
    _due_soon(make_appointment, 3)
    assert run_due() == {}
    db.session.expire_all()
    rule = db.session.get(AutomationRule, rule.id)
    assert rule.paused_at is not None
    assert "1 message(s) over the monthly quota of 2" in rule.paused_reason
    assert (_count(Broadcast), _count(AutomationSend)) == (0, 0)
    assert quotas.left("transactional").messages == 0

    admin = client_for(Role.ADMIN)
    page = admin.get(f"/automation/rules/{rule.id}").get_data(as_text=True)
    assert "Paused since" in page and "over the monthly quota of 2" in page
    home = admin.get("/", follow_redirects=True).get_data(as_text=True)
    assert 'id="paused-rules-banner"' in home
    assert ">Paused</span>" in admin.get("/automation/rules").get_data(as_text=True)
    editor_home = client_for(Role.EDIT).get("/", follow_redirects=True).get_data(as_text=True)
    assert 'id="paused-rules-banner"' not in editor_home
    run = admin.post(f"/automation/rules/{rule.id}/run", follow_redirects=True)
    assert "Nothing was sent: “Two hours before” is paused." in run.get_data(as_text=True)
    assert _count(Broadcast) == 0

    _quota("10")
    response = admin.post(f"/automation/rules/{rule.id}/resume", follow_redirects=True)
    assert "is resumed" in response.get_data(as_text=True)
    assert 'id="paused-rules-banner"' not in response.get_data(as_text=True)
    assert run_due() == {rule.id: 3}
    assert quotas.left("transactional").messages == 3


def test_a_run_within_the_quota_counts_and_the_rule_page_warns_from_80_percent(
        client_for, make_rule, make_appointment):
    _quota("5")
    rule = make_rule(timing="hours_before", amount=2)
    _due_soon(make_appointment, 4)
    assert plan_rule(rule)[1] == 4
    assert quotas.left("transactional").messages == 4
    page = client_for(Role.ADMIN).get(f"/automation/rules/{rule.id}").get_data(as_text=True)
    assert "1 of 5 messages left" in page and "over 80 % of the quota is used" in page


def test_a_status_text_over_the_quota_says_the_rule_is_paused(app, make_rule, make_template,
                                                             make_appointment):
    _quota("0")
    template = make_template(kind="en_route", body="On our way.")
    make_rule(kind="status", timing="on_status", status_trigger="en_route", template=template)
    visit = make_appointment()
    outcome = change_status(visit, "en_route")
    assert "No text sent: the En Route text is paused" in outcome.text
    assert "over the monthly quota of 0" in outcome.text
    assert visit.status == "en_route" and _count(Broadcast) == 0


def test_resume_is_for_admins(client_for, make_rule):
    rule = make_rule()
    assert client_for(Role.EDIT).post(f"/automation/rules/{rule.id}/resume").status_code == 403
