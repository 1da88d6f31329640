"""An admin reads the usage of the last 30 days in Chromium: rates, the chart per day (a bar
per day and kind, scaled to the busiest day), the groups, the CSV download, and a phone."""

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from core.messaging.models import Direction, Status
from core.types import utcnow
from tests.browser.conftest import screenshot
from tests.mailbox.conftest import make_message  # noqa: F401

ZONE = ZoneInfo("America/New_York")


def _seed(make) -> tuple:
    """30 days of texts: 2–9 a day out (every fifth failed), a reply every other day, some
    marketing and email; the busiest day is the 10th. Returns (first, last, busiest)."""
    last = utcnow().astimezone(ZONE).date()
    first = last - timedelta(days=29)
    for n in range(30):
        day = first + timedelta(days=n)
        at = datetime.combine(day, time(11), ZONE)
        for i in range(2 + (n * 7) % 8):
            make(created_at=at + timedelta(minutes=i), cost=Decimal("0.0079"),
                         status=Status.FAILED if i % 5 == 4 else Status.DELIVERED,
                         category="marketing" if n % 6 == 0 else "transactional")
        if n % 2:
            make(direction=Direction.IN, category="direct", created_at=at,
                         cost=Decimal("0.0075"))
        if n % 3 == 0:
            make(channel="email", to_addr=f"c{n}@example.com", created_at=at)
    return first, last, first + timedelta(days=9)


def test_usage_page_chart_groups_export_and_phone(signed_in, live_server,
                                                  make_message):  # noqa: F811
    first, last, busiest = _seed(make_message)
    page = signed_in()
    page.goto(f"{live_server}/usage")
    expect(page.get_by_role("heading", name="Usage", exact=True)).to_be_visible()
    page.get_by_label("From").fill(first.isoformat())
    page.get_by_label("To").fill(last.isoformat())
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**/usage?from={first}&to={last}")

    chart = page.get_by_role("img", name="Messages per day: sent, delivered, failed, replies")
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar-sent")).to_have_count(30)
    tallest = chart.locator("rect.bar-sent", has=page.locator(
        f"title:text-is('{busiest}: 10 sent')"))
    expect(tallest).to_have_count(1)
    assert float(tallest.get_attribute("height")) == 48.0  # the busiest day fills the chart
    box = tallest.bounding_box()
    assert box["height"] > 150, "the tallest bar is drawn nearly the chart's full height"
    expect(page.locator(".usage-sent")).to_have_text(f"{_total_sent():,}")
    groups = page.locator("table.usage-groups")
    expect(groups.locator("tr", has_text="Received")).to_contain_text("direct")
    expect(groups.locator("tr", has_text="EMAIL")).to_contain_text("—")  # never priced
    screenshot(page, "usage")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    csv = download.value.path().read_text()
    assert csv.startswith("day,direction,channel,category,messages,cost,currency")
    # That day: 9 texts (8 delivered, 1 failed) and an email, 10 in the chart's "sent".
    assert f"{busiest},out,sms,transactional,9,0.07110,USD,9,8,1,0" in csv.splitlines()

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(chart).to_be_visible()
    assert chart.bounding_box()["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def _total_sent() -> int:
    return sum(2 + (n * 7) % 8 for n in range(30)) + 10  # texts out, and the 10 emails
