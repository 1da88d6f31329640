"""CSV exports: every filtered row, streamed page by page, formula cells neutralised."""

import csv
import io
from decimal import Decimal

import pytest

from core.auth.models import Role
from core.messaging.models import Direction
from core.usage import export
from core.usage.export import neutralise


@pytest.fixture
def viewer(client_for):
    return client_for(Role.READ_ONLY)


@pytest.mark.parametrize("value, cell", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+SUM(A1)", "'+SUM(A1)"),
    ("-2+3", "'-2+3"), ("@cmd", "'@cmd"), ("\tTab", "'\tTab"), ("\rCR", "'\rCR"),
    ("+12025550123", "+12025550123"), ("-0.5", "-0.5"), ("Hello =1", "Hello =1"),
    (None, ""), (3, "3"),
])
def test_formula_cells_are_neutralised(value, cell):
    assert neutralise(value) == cell


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_outbox_export_has_every_row_across_pages_with_hostile_text_escaped(
        viewer, make_message, monkeypatch):
    monkeypatch.setattr(export, "PAGE", 2)  # five rows: three pages
    for n in range(4):
        make_message(body=f"Reminder {n}", cost=Decimal("0.0079"))
    make_message(body="=cmd|' /C calc'!A0")
    make_message(direction=Direction.IN, body="not in the outbox")
    response = viewer.get("/usage/export/outbox.csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == list(export.HEADER)
    bodies = [r[10] for r in rows[1:]]
    assert bodies == ["'=cmd|' /C calc'!A0", "Reminder 3", "Reminder 2", "Reminder 1",
                      "Reminder 0"]
    assert rows[2][14:] == ["0.00790", "USD"]


def test_inbox_export_keeps_the_filters(viewer, make_message):
    make_message(direction=Direction.IN, body="Running late")
    make_message(direction=Direction.IN, body="See you")
    rows = _csv(viewer.get("/usage/export/inbox.csv?q=late"))
    assert [r[10] for r in rows[1:]] == ["Running late"]
    assert rows[1][1] == "in"


def test_the_lists_link_their_export_with_the_filters(viewer):
    assert 'href="/usage/export/inbox.csv?q=late"' in viewer.get("/messages/inbox?q=late").text
    assert 'href="/usage/export/outbox.csv?channel=sms"' in viewer.get(
        "/messages/outbox?channel=sms&before=9").text


def test_the_outbox_folder_filter_is_kept(viewer, make_message):
    make_message(body="No folder")
    rows = _csv(viewer.get("/usage/export/outbox.csv?folder=other"))
    assert [r[10] for r in rows[1:]] == ["No folder"]
    page = viewer.get("/messages/outbox?folder=other").text
    assert 'href="/usage/export/outbox.csv?folder=other"' in page


def test_a_bad_filter_is_refused(viewer):
    assert viewer.get("/usage/export/outbox.csv?status=nonsense").status_code == 422


def test_a_user_without_a_role_may_not_export(client_for):
    assert client_for(Role.NONE).get("/usage/export/outbox.csv").status_code == 403
