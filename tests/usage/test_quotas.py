"""Monthly quotas per category: Compose shows what is left, refuses a send that would exceed
(saying by how much, nothing written), warns from 80 %, and counts atomically."""

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core import settings
from core.auth.models import Role
from core.extensions import db
from core.messaging.compose import ComposeError, create_broadcast
from core.messaging.models import Broadcast
from core.usage import quotas


@pytest.fixture
def editor(client_for):
    return client_for(Role.EDIT)


def _quota(category="transactional", messages="", spend=""):
    settings.set(f"quota_{category}_messages", messages)
    settings.set(f"quota_{category}_spend", spend)
    db.session.commit()


def _send(ids, category="transactional"):
    return create_broadcast(actor=None, channel="sms", recipients={"appointment_ids": ids},
                            body="Closed today", options={"category": category,
                                                          "outside_window": True})


def _broadcasts() -> int:
    return db.session.scalar(select(func.count()).select_from(Broadcast))


def test_a_send_over_the_quota_is_refused_whole_saying_by_how_much(app, make_appointment):
    _quota(messages="3")
    ids = [make_appointment().id for _ in range(2)]
    _send(ids)
    assert quotas.left("transactional").messages_left == 1
    with pytest.raises(ComposeError, match="1 message\\(s\\) over the monthly quota of 3 "
                                           "\\(1 left\\); nothing was sent"):
        _send(ids)
    assert _broadcasts() == 1 and quotas.left("transactional").messages == 2


def test_a_spend_quota_refuses_by_the_estimated_cost(app, make_appointment):
    _quota(spend="0.01")  # one segment costs 0.0079 by default
    ids = [make_appointment().id for _ in range(2)]
    with pytest.raises(ComposeError, match="0.01 USD over the monthly spend quota of 0.01"):
        _send(ids)
    assert _broadcasts() == 0


def test_categories_count_separately(app, make_appointment):
    _quota(category="marketing", messages="1")
    ids = [make_appointment().id for _ in range(2)]
    _send(ids)  # transactional: no quota
    assert quotas.left("transactional").messages == 2
    assert quotas.left("marketing").messages == 0


def test_compose_shows_what_is_left_and_warns_from_80_percent(app, editor, make_appointment,
                                                              make_client):
    _quota(messages="5")
    _send([make_appointment().id for _ in range(4)])
    person = make_client()
    html = editor.post("/compose/count", data={
        "recipients": "person", "client_id": person.id, "channel": "sms", "body": "Hi",
        "when": "now"}).text
    assert "1 of 5 messages left" in html and "over 80 % of the quota is used" in html
    refused = editor.post("/compose/", data={
        "recipients": "person", "client_id": person.id, "channel": "sms", "body": "Hi",
        "when": "now", "outside_window": "y"})
    assert refused.status_code == 303  # exactly the last one fits
    again = editor.post("/compose/", data={
        "recipients": "person", "client_id": person.id, "channel": "sms", "body": "Hi",
        "when": "now", "outside_window": "y"})
    assert again.status_code == 422 and "over the monthly quota of 5" in again.text


def test_two_sends_at_once_cannot_both_pass(app, make_appointment):
    _quota(messages="3")
    ids = [make_appointment().id for _ in range(2)]
    start, outcomes = threading.Barrier(2), []

    def send():
        with app.app_context():
            start.wait()
            try:
                _send(ids)
                outcomes.append("sent")
            except Exception as exc:  # noqa: BLE001  (refused, or SQLite's lock: not sent)
                db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    db.session.expire_all()
    assert outcomes.count("sent") == 1, outcomes
    assert _broadcasts() == 1 and quotas.left("transactional").messages == 2
    assert Decimal(quotas.left("transactional").spend) > 0


def test_admins_set_quotas_and_see_this_month(admin_client, make_appointment):
    response = admin_client.post("/usage/quotas", data={
        "quota_marketing_messages": "100", "quota_marketing_spend": "2.50"})
    assert response.status_code == 200 and "Quotas saved." in response.text
    assert quotas.limits("marketing") == (100, Decimal("2.50"))
    assert quotas.limits("transactional") == (None, None)
    bad = admin_client.post("/usage/quotas", data={"quota_direct_messages": "lots"})
    assert bad.status_code == 422 and "A whole number of messages" in bad.text
    page = admin_client.get("/usage/quotas").text
    assert "0 / 100" in page and 'value="2.50"' in page
