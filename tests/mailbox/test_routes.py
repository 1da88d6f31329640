"""The Outbox, Inbox, status polling and message detail pages, as staff see them."""

import re
from datetime import timedelta

import pytest

from core.appointments.models import Appointment
from core.auth.models import Role
from core.clients.models import Client
from core.extensions import db
from core.messaging.models import Direction, Message, Status
from tests.mailbox.conftest import minutes

HX = {"HX-Request": "true"}


@pytest.fixture
def viewer(client_for):
    return client_for(Role.READ_ONLY)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def listed(html: str) -> list[int]:
    """The ids of the messages a list shows, top to bottom."""
    return [int(i) for i in re.findall(r'href="/messages/(\d+)">Details', html)]


def test_outbox_lists_folders_and_rows_with_status_colour_and_local_time(
    viewer, make_client, make_appointment, make_message
):
    ann = make_client(first_name="Ann", last_name="Lee")
    visit = make_appointment(client=ann, title="Root canal", start_at=minutes(24 * 60))
    make_message(ann, visit, status=Status.FAILED, cost=0.0079, segments=2, created_at=minutes(0))
    make_message(to_addr="+13105550199", body="No client")

    page = text_of(viewer.get("/messages/outbox"))

    assert 'class="folders' in page and ">Other " in page
    # The folder label and sent time are in New York time (UTC-4 in May).
    assert "Thu 2 May 2024, 10:00 AM · Ann Lee · Root canal" in page
    assert "Wed 1 May 2024, 10:00 AM" in page
    assert 'class="badge status-failed"' in page
    assert "0.0079" in page
    assert "+1 310-555-0199" in page
    assert 'hx-push-url="true"' in page and 'hx-get="/messages/outbox"' in page


def test_outbox_htmx_request_gets_only_the_rows_fragment(viewer, make_client, make_message):
    make_message(make_client(), body="Hello there")

    response = viewer.get("/messages/outbox?q=hello", headers=HX)
    fragment = text_of(response)

    assert response.status_code == 200
    assert fragment.lstrip().startswith("<div id=\"mailbox-rows\"")
    assert "<html" not in fragment and "Folders" not in fragment
    assert "HX-Request" in response.headers["Vary"]


def test_outbox_folder_shows_only_its_messages(viewer, make_client, make_appointment,
                                               make_message):
    ann = make_client()
    visit = make_appointment(client=ann)
    inside = make_message(ann, visit, body="Inside the folder")
    outside = make_message(ann, body="Tied to nothing")

    in_folder = text_of(viewer.get(f"/messages/outbox?folder={visit.id}"))
    other = text_of(viewer.get("/messages/outbox?folder=other"))

    assert listed(in_folder) == [inside.id]
    assert listed(other) == [outside.id]
    assert viewer.get("/messages/outbox?folder=987654").status_code == 404


def test_outbox_search_and_filters_through_the_page(viewer, make_client, make_message):
    ann = make_client(first_name="Ann", mobile="+12025550147")
    bob = make_client(first_name="Bob", mobile="+13125550111")
    failed = make_message(ann, status=Status.FAILED)
    delivered = make_message(bob, status=Status.DELIVERED)

    by_number = text_of(viewer.get("/messages/outbox?q=(202)+555-0147", headers=HX))
    by_status = text_of(viewer.get("/messages/outbox?status=delivered", headers=HX))

    assert listed(by_number) == [failed.id]
    assert listed(by_status) == [delivered.id]


@pytest.mark.parametrize(
    "query, error",
    [("date_from=2024-05-02&date_to=2024-05-01", "“To” is before “From”."),
     ("status=bogus", "Not a valid choice"),
     ("date_from=yesterday", "Not a valid date value"),
     ("folder=../etc", "Unknown folder.")],
)
def test_bad_filters_say_so_with_422(viewer, query, error):
    response = viewer.get(f"/messages/outbox?{query}")
    fragment = viewer.get(f"/messages/outbox?{query}", headers=HX)

    assert response.status_code == fragment.status_code == 422
    assert error in text_of(response) and error in text_of(fragment)
    assert "Nothing was searched" in text_of(fragment)


def test_older_and_newer_links_page_by_id(viewer, make_client):
    ann = make_client()
    db.session.add_all(
        Message(direction="out", channel="sms", to_addr=ann.mobile, client_id=ann.id,
                status=Status.DELIVERED, created_at=minutes(i)) for i in range(60)
    )
    db.session.commit()

    first = text_of(viewer.get("/messages/outbox"))
    older_url = re.search(r'href="(/messages/outbox\?before=\d+)"', first).group(1)
    second = text_of(viewer.get(older_url, headers=HX))
    newer_url = re.search(r'href="(/messages/outbox\?after=\d+)"', second).group(1)
    every = sorted((m.id for m in db.session.scalars(db.select(Message))), reverse=True)

    assert "Showing 50" in first and "Showing 10" in second
    assert listed(first) == every[:50] and listed(second) == every[50:]
    assert "Older" not in second and "Newer" not in first
    assert listed(text_of(viewer.get(newer_url))) == every[:50]


def test_status_poll_while_pending_and_stop_when_all_final(viewer, make_client, make_message):
    ann = make_client()
    queued = make_message(ann, status=Status.QUEUED)
    delivered = make_message(ann, status=Status.DELIVERED)

    page = text_of(viewer.get("/messages/outbox"))
    assert f'hx-get="/messages/statuses?ids={queued.id}"' in status_poller(page)
    assert 'hx-trigger="every 5s"' in status_poller(page)

    poll = text_of(viewer.get(f"/messages/statuses?ids={queued.id},{delivered.id}", headers=HX))
    assert f'id="status-{queued.id}" class="badge status-queued"' in poll
    assert 'hx-swap-oob="true"' in poll and 'hx-trigger="every 5s"' in poll

    db.session.execute(db.update(Message).where(Message.id == queued.id)
                       .values(status=Status.FAILED, reason="Number unreachable"))
    db.session.commit()
    poll = text_of(viewer.get(f"/messages/statuses?ids={queued.id}", headers=HX))
    assert f'id="status-{queued.id}" class="badge status-failed" title="Number unreachable"' in poll
    assert "every 5s" not in status_poller(poll)
    # Only the status poller stops; other pollers of the page (the nav badge) are not its.
    assert "every 5s" not in status_poller(text_of(viewer.get("/messages/outbox")))


def status_poller(html: str) -> str:
    """The opening tag of the Outbox's status poller (there is exactly one)."""
    [tag] = re.findall(r'<span id="status-poller"[^>]*>', html)
    return tag


@pytest.mark.parametrize("ids", ["1,x", ",".join(str(i) for i in range(201))])
def test_statuses_refuses_bad_ids(viewer, ids):
    assert viewer.get(f"/messages/statuses?ids={ids}").status_code == 400


def test_inbox_shows_sender_text_and_what_it_answers(viewer, make_client, make_message):
    ann = make_client(first_name="Ann", last_name="Lee")
    reminder = make_message(ann, body="See you at 10", created_at=minutes(0))
    make_message(ann, direction=Direction.IN, body="Yes, see you", created_at=minutes(5))
    stranger = make_client(first_name="+13105550199", last_name="", unknown_sender=True,
                           mobile="+13105550199")
    make_message(stranger, direction=Direction.IN, body="Who is this?", created_at=minutes(9))

    page = text_of(viewer.get("/messages/inbox"))

    assert "Ann Lee" in page and "Yes, see you" in page
    assert f'href="/messages/{reminder.id}" class="answers">See you at 10' in page
    assert "unknown sender" in page and "+1 310-555-0199" in page
    assert "Wed 1 May 2024, 10:05 AM" in page
    fragment = text_of(viewer.get("/messages/inbox?q=who", headers=HX))
    assert "Who is this?" in fragment and "Yes, see you" not in fragment and "<html" not in fragment


def test_detail_shows_text_events_in_order_and_reply(viewer, make_client, make_appointment,
                                                     make_message, add_event):
    ann = make_client(first_name="Ann", last_name="Lee")
    visit = make_appointment(client=ann, job_number="J-77")
    sent = make_message(ann, visit, channel="email", to_addr="ann@example.com", subject="Snow",
                        body="We are closed <today>", provider="smtp", provider_id="abc-123",
                        cost=0.01, created_at=minutes(0))
    add_event(sent, "delivered", at=minutes(3) + timedelta(seconds=27), code="250",
              detail="Queued as 99")
    add_event(sent, "queued", at=minutes(0))
    add_event(sent, "sent", at=minutes(1), code="accepted")
    reply = make_message(ann, direction=Direction.IN, body="Thanks!", created_at=minutes(8))

    page = text_of(viewer.get(f"/messages/{sent.id}"))
    history = page.split("Status history", 1)[1]

    assert "Snow" in page and "We are closed &lt;today&gt;" in page
    assert history.index(">Queued<") < history.index(">Sent<") < history.index(">Delivered<")
    assert "Wed 1 May 2024, 10:03 AM</time> <small class=\"muted\">27s" in history
    assert "<code>250</code>" in history
    assert "Queued as 99" in history
    assert "abc-123" in page and "J-77" in page
    assert f'href="/messages/{reply.id}"' in page and "Thanks!" in page
    answered = text_of(viewer.get(f"/messages/{reply.id}"))
    assert "In answer to" in answered and f'href="/messages/{sent.id}"' in answered


def test_detail_404_for_unknown_message(viewer):
    assert viewer.get("/messages/987654").status_code == 404


def test_nav_links_for_read_only_staff(viewer):
    page = text_of(viewer.get("/messages/inbox"))
    assert 'href="/messages/outbox"' in page and 'href="/messages/inbox"' in page


def test_staff_without_a_role_are_refused(client_for):
    assert client_for(Role.NONE).get("/messages/outbox").status_code == 403


def _fill(n: int) -> None:
    """n clients, each with an appointment, one outbound text and one reply."""
    db.session.execute(db.delete(Message))
    for i in range(n):
        client = Client(first_name="test", mobile=f"+1202555{i:04d}")
        visit = Appointment(client=client, start_at=minutes(i), end_at=minutes(i + 30),
                            title="Visit", job_number=f"J{i}")
        db.session.add_all([client, visit])
        db.session.flush()
        db.session.add_all([
            Message(direction="out", channel="sms", to_addr=client.mobile, status="sent",
                    client_id=client.id, appointment_id=visit.id, created_at=minutes(i),
                    sent_at=minutes(i), body="test"),
            Message(direction="in", channel="sms", from_addr=client.mobile, to_addr="+1",
                    status="received", client_id=client.id, created_at=minutes(i + 1),
                    body="test"),
        ])
    db.session.commit()
    db.session.expire_all()


@pytest.mark.parametrize("url", ["/messages/outbox", "/messages/inbox",
                                 "/messages/outbox?q=test", "/messages/inbox?q=test"])
@pytest.mark.parametrize("headers", [{}, HX], ids=["page", "fragment"])
def test_page_costs_the_same_queries_for_10_or_50_rows(viewer, query_counter, url, headers):
    def statements_for(n: int) -> int:
        _fill(n)
        with query_counter() as statements:
            response = viewer.get(url, headers=headers)
        assert response.status_code == 200
        assert len(listed(text_of(response))) == n
        return len(statements)

    assert statements_for(10) == statements_for(50)
