"""The Outbox sidebar: Appointments (by day), Mass notices (one entry each), Other — all bounded."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from core.auth.models import Role
from core.extensions import db
from core.messaging.models import Broadcast

START = datetime(2026, 12, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def viewer(client_for):
    return client_for(Role.READ_ONLY)


def sidebar(html: str) -> str:
    return html[html.index('id="outbox-folders"'):html.index("</aside>")]


def listed(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/messages/(\d+)">Details', html)]


def group_count(html: str, label: str) -> str:
    found = re.search(rf"{label}\s*<span class=\"count badge\">([^<]+)</span>", sidebar(html))
    return found.group(1)


def _notice(make_client, make_appointment, make_message, n=3):
    """One mass notice to n clients about their appointments."""
    notice = Broadcast(channel="sms", body="We are closed on Friday", total=n, status="sent")
    db.session.add(notice)
    db.session.commit()
    for i in range(n):
        person = make_client(first_name=f"N{i}")
        visit = make_appointment(client=person, start_at=START + timedelta(days=i))
        make_message(person, visit, broadcast_id=notice.id, body="We are closed on Friday")
    return notice


def test_folders_are_grouped_with_counts_and_a_notice_is_one_entry(
        viewer, make_client, make_appointment, make_message):
    notice = _notice(make_client, make_appointment, make_message)
    lone = make_message(body="Tied to nothing")
    html = viewer.get("/messages/outbox").get_data(as_text=True)

    assert group_count(html, "Appointments") == "3"
    assert group_count(html, "Mass notices") == "1"
    assert group_count(html, "Other") == "1"
    assert sidebar(html).count(f"folder=b{notice.id}") == 1

    in_notice = viewer.get(f"/messages/outbox?folder=b{notice.id}").get_data(as_text=True)
    assert len(listed(in_notice)) == 3 and lone.id not in listed(in_notice)
    assert "Mass notice" in in_notice
    tied = viewer.get("/messages/outbox?folder=appointments").get_data(as_text=True)
    assert len(listed(tied)) == 3 and lone.id not in listed(tied)
    assert listed(viewer.get("/messages/outbox?folder=other").get_data(as_text=True)) == [lone.id]
    assert viewer.get("/messages/outbox?folder=b987654").status_code == 404


def test_appointment_folders_are_bounded_and_filter_by_day(viewer, make_client, make_appointment,
                                                            make_message):
    person = make_client()
    for i in range(12):
        visit = make_appointment(client=person, start_at=START + timedelta(days=i),
                                 title=f"Visit {i}")
        make_message(person, visit)
    html = viewer.get("/messages/outbox").get_data(as_text=True)
    shown = re.findall(r"Visit (\d+)", sidebar(html))
    assert len(shown) == 10 and "More appointments" in sidebar(html)
    more = re.search(r'href="([^"]*fbefore=\d+[^"]*)">More appointments', sidebar(html)).group(1)
    rest = viewer.get(more.replace("&amp;", "&")).get_data(as_text=True)
    assert sorted(re.findall(r"Visit (\d+)", sidebar(rest))) == ["0", "1"]

    one_day = viewer.get("/messages/outbox?fday=2026-12-13").get_data(as_text=True)
    assert re.findall(r"Visit (\d+)", sidebar(one_day)) == ["3"]
    assert "More appointments" not in sidebar(one_day)
    # A nonsense day is ignored rather than an error.
    assert viewer.get("/messages/outbox?fday=tomorrow").status_code == 200


def test_mass_notices_are_bounded(viewer, make_client, make_message):
    person = make_client()
    for i in range(12):
        notice = Broadcast(channel="sms", body=f"Notice {i}", total=2, status="sent")
        db.session.add(notice)
        db.session.commit()
        make_message(person, broadcast_id=notice.id)
    html = viewer.get("/messages/outbox").get_data(as_text=True)
    assert len(re.findall(r"Notice \d+", sidebar(html))) == 10
    assert "More mass notices" in sidebar(html)
    assert group_count(html, "Mass notices") == "12"


def test_counts_stop_at_the_cap(app):
    from core.messaging.folders import COUNT_CAP, capped

    assert capped(COUNT_CAP - 1) == str(COUNT_CAP - 1)
    assert capped(COUNT_CAP) == f"{COUNT_CAP}+"
