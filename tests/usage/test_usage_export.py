"""The usage CSV export: the page's figures per day, direction, channel and category, for the
chosen range, streamed, formula cells neutralised; Admins only."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

from core.auth.models import Role
from core.messaging.models import Direction, Status
from core.usage.rollup import compact
from tests.mailbox.conftest import BASE  # 2024-05-01 14:00 UTC, 10:00 in New York

LATE = BASE + timedelta(hours=13)  # 03:00 UTC on 2 May: still 1 May in New York


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_usage_export_has_the_figures_per_local_day(admin_client, make_message):
    make_message(status=Status.DELIVERED, cost=Decimal("0.0079"))
    make_message(status=Status.FAILED, created_at=LATE, cost=Decimal("0.0079"))
    make_message(status=Status.SKIPPED, reason="Opted out", category="marketing",
                 created_at=BASE + timedelta(days=1))
    make_message(direction=Direction.IN, category="direct", cost=Decimal("0.0075"),
                 created_at=BASE + timedelta(days=1))
    make_message(channel="email", category="=cmd", created_at=BASE + timedelta(days=1))
    make_message(created_at=BASE + timedelta(days=3))  # after the range

    response = admin_client.get("/usage/export/usage.csv?from=2024-05-01&to=2024-05-02")
    assert response.status_code == 200 and response.is_streamed
    hourly = _rows(response)
    compact()  # the old hours folded into days: the same file
    assert _rows(admin_client.get("/usage/export/usage.csv?from=2024-05-01&to=2024-05-02")) == (
        hourly)
    assert response.mimetype == "text/csv"
    assert 'filename="tidings-usage-20240501-20240502.csv"' in (
        response.headers["Content-Disposition"])
    assert hourly == [
        ["day", "direction", "channel", "category", "messages", "cost", "currency", "sent",
         "delivered", "failed", "opted_out"],
        ["2024-05-01", "out", "sms", "transactional", "2", "0.01580", "USD", "2", "1", "1",
         "0"],
        ["2024-05-02", "in", "sms", "direct", "1", "0.00750", "USD", "0", "0", "0", "0"],
        ["2024-05-02", "out", "email", "'=cmd", "1", "", "", "1", "1", "0", "0"],
        ["2024-05-02", "out", "sms", "marketing", "1", "", "", "0", "0", "0", "1"],
    ]


def test_the_usage_page_links_its_range_to_the_export(admin_client):
    html = admin_client.get("/usage?from=2024-05-01&to=2024-05-02").text
    assert "/usage/export/usage.csv?from=2024-05-01&amp;to=2024-05-02" in html


def test_a_bad_range_is_refused_and_only_admins_export(admin_client, client_for):
    bad = admin_client.get("/usage/export/usage.csv?from=2024-05-03&to=2024-05-01")
    assert bad.status_code == 422
    assert client_for(Role.READ_ONLY).get("/usage/export/usage.csv").status_code == 403
    assert client_for(Role.EDIT).get("/usage/export/usage.csv").status_code == 403
