"""The usage page against a hand-counted fixture: groups, rates, the chart per day."""

from datetime import timedelta
from decimal import Decimal

import pytest

from core.auth.models import Role
from core.messaging.models import Direction, Status
from core.usage.figures import figures
from tests.mailbox.conftest import BASE  # 2024-05-01 14:00 UTC, 10:00 in New York

DAY2 = BASE + timedelta(days=1)


@pytest.fixture
def fixture(make_message):
    make_message(status=Status.DELIVERED, cost=Decimal("0.0079"))
    make_message(status=Status.FAILED, category="marketing", cost=Decimal("0.0079"))
    make_message(status=Status.SKIPPED, reason="Opted out", created_at=DAY2)
    make_message(status=Status.SENT, channel="email", created_at=DAY2, to_addr="a@example.com")
    make_message(direction=Direction.IN, category="direct", cost=Decimal("0.0075"),
                 created_at=DAY2)
    make_message(created_at=BASE + timedelta(days=30))  # outside the range


def test_figures_match_the_hand_count(app, fixture):
    f = figures(BASE.date(), BASE.date() + timedelta(days=2), "America/New_York")
    assert f.groups == [
        ("out", "email", "transactional", 1, None),
        ("out", "sms", "marketing", 1, Decimal("0.0079")),
        ("out", "sms", "transactional", 2, Decimal("0.0079")),
        ("in", "sms", "direct", 1, Decimal("0.0075")),
    ]
    assert (f.sent, f.delivered, f.failed, f.opted_out) == (3, 1, 1, 1)
    assert f.rate(f.delivered) == 33.3 and f.total_cost == Decimal("0.0233")
    assert [(d["sent"], d["delivered"], d["failed"], d["replies"]) for d in f.days] == [
        (2, 1, 1, 0), (1, 0, 0, 1), (0, 0, 0, 0)]


def test_the_usage_page_shows_rates_chart_and_groups(admin_client, fixture):
    html = admin_client.get("/usage?from=2024-05-01&to=2024-05-03").text
    assert '<dd class="usage-delivered">33.3 %</dd>' in html
    assert '<dd class="usage-opted-out">1</dd>' in html
    assert html.count('class="bar-sent"') == 3 and "2024-05-02: 1 replies" in html
    assert "0.0233 USD" in html and "<td>marketing</td>" in html


def test_a_bad_range_says_so(admin_client):
    response = admin_client.get("/usage?from=2024-05-03&to=2024-05-01")
    assert response.status_code == 422 and "the first before the last" in response.text


def test_only_admins_see_usage(client_for):
    assert client_for(Role.EDIT).get("/usage").status_code == 403
