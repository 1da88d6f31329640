"""The Outbox/Inbox queries: folders, search, filters, keyset paging, answers and replies."""

from datetime import UTC, date, datetime, timedelta

import pytest

from core.extensions import db
from core.messaging import queries
from core.messaging.models import Direction, Message, Status
from core.messaging.queries import Filters
from tests.mailbox.conftest import BASE, minutes

TZ = "America/New_York"


def ids(page) -> list[int]:
    return [row.message.id for row in page.rows]


def test_folders_are_appointments_with_outbound_messages_newest_first(
    make_client, make_appointment, make_message
):
    ann = make_client(first_name="Ann")
    early = make_appointment(client=ann, start_at=BASE + timedelta(days=2), title="Filling")
    late = make_appointment(client=ann, start_at=BASE + timedelta(days=5), title="Cleaning")
    quiet = make_appointment(client=ann, start_at=BASE + timedelta(days=9))
    inbound_only = make_appointment(client=ann, start_at=BASE + timedelta(days=7))
    make_message(ann, early)
    make_message(ann, early)
    make_message(ann, late)
    make_message(ann, inbound_only, direction=Direction.IN)

    page = queries.appointment_folders()

    assert [(f.appointment.id, f.count) for f in page.folders] == [(late.id, 1), (early.id, 2)]
    assert quiet.id not in [f.appointment.id for f in page.folders]
    assert page.older is None


def test_folders_page_by_keyset_without_gaps(make_client, make_appointment, make_message):
    ann = make_client()
    same_time = BASE + timedelta(days=1)
    appointments = [make_appointment(client=ann, start_at=same_time) for _ in range(3)]
    appointments += [make_appointment(client=ann, start_at=BASE + timedelta(days=2)),
                     make_appointment(client=ann, start_at=BASE + timedelta(days=3))]
    for appointment in appointments:
        make_message(ann, appointment)

    seen, cursor = [], None
    while True:
        page = queries.appointment_folders(before_id=cursor, limit=2)
        seen += [f.appointment.id for f in page.folders]
        cursor = page.older
        if cursor is None:
            break

    expected = sorted(appointments, key=lambda a: (a.start_at, a.id), reverse=True)
    assert seen == [a.id for a in expected]


def test_folder_filter_by_appointment_other_and_all(make_client, make_appointment, make_message):
    ann = make_client()
    visit = make_appointment(client=ann)
    linked = [make_message(ann, visit), make_message(ann, visit)]
    loose = make_message(ann)
    make_message(ann, visit, direction=Direction.IN)

    assert ids(queries.outbox_page(Filters(folder=visit.id))) == [m.id for m in reversed(linked)]
    assert ids(queries.outbox_page(Filters(folder="other"))) == [loose.id]
    assert ids(queries.outbox_page(Filters())) == [loose.id, linked[1].id, linked[0].id]


@pytest.mark.parametrize(
    "query",
    ["ann lee", "LEE", "Acme", "(202) 555-0147", "202.555.0147", "+1 202 555 0147",
     "ANN@example", "snow day", "j-1042", "1042"],
)
def test_search_finds_by_name_number_email_text_and_job_number(
    query, make_client, make_appointment, make_message
):
    ann = make_client(first_name="Ann", last_name="Lee", company="Acme", mobile="+12025550147",
                      email="ann@example.com")
    bob = make_client(first_name="Bob", last_name="Stone", mobile="+13125550111",
                      email="bob@example.org")
    job = make_appointment(client=ann, job_number="J-1042")
    wanted = make_message(ann, job, body="Closed today: snow day.")
    make_message(bob, make_appointment(client=bob, job_number="J-7"), body="See you soon")

    assert ids(queries.outbox_page(Filters(q=query))) == [wanted.id]


def test_search_finds_a_raw_address_and_treats_wildcards_literally(make_client, make_message):
    stranger = make_message(to_addr="+13105550199", body="Your parcel")
    make_message(make_client(), body="100 percent ready, abc")
    snake = make_message(make_client(), body="ref snake_case\\x")
    emailed = make_message(channel="email", to_addr="pat@sample.net", subject="Invoice 7")

    assert ids(queries.outbox_page(Filters(q="310-555-0199"))) == [stranger.id]
    assert ids(queries.outbox_page(Filters(q="pat@sample"))) == [emailed.id]
    assert ids(queries.outbox_page(Filters(q="invoice"))) == [emailed.id]
    assert ids(queries.outbox_page(Filters(q="%"))) == []
    assert ids(queries.outbox_page(Filters(q="a_c"))) == []
    assert ids(queries.outbox_page(Filters(q="e_case\\x"))) == [snake.id]


def test_filters_by_status_and_channel(make_client, make_message):
    ann = make_client()
    failed = make_message(ann, status=Status.FAILED, reason="Invalid number")
    make_message(ann, status=Status.DELIVERED)
    email = make_message(ann, channel="email", to_addr="a@b.example")

    assert ids(queries.outbox_page(Filters(status="failed"))) == [failed.id]
    assert ids(queries.outbox_page(Filters(channel="email"))) == [email.id]
    assert ids(queries.outbox_page(Filters(status="failed", channel="email"))) == []


def test_date_range_is_whole_days_in_the_business_time_zone(make_client, make_message):
    ann = make_client()
    # 03:30 UTC on 2 May is 23:30 on 1 May in New York.
    late_evening = make_message(ann, created_at=datetime(2024, 5, 2, 3, 30, tzinfo=UTC))
    next_morning = make_message(ann, created_at=datetime(2024, 5, 2, 13, 0, tzinfo=UTC))
    scheduled = make_message(ann, status=Status.QUEUED, created_at=BASE,
                             send_at=datetime(2024, 5, 9, 14, 0, tzinfo=UTC))

    def between(first, last):
        since, until = queries.local_day_bounds(first, last, TZ)
        return ids(queries.outbox_page(Filters(since=since, until=until)))

    assert between(date(2024, 5, 1), date(2024, 5, 1)) == [late_evening.id]
    assert between(date(2024, 5, 2), None) == [scheduled.id, next_morning.id]
    assert between(None, date(2024, 5, 2)) == [next_morning.id, late_evening.id]
    assert between(date(2024, 5, 9), date(2024, 5, 9)) == [scheduled.id]


def test_keyset_paging_walks_every_message_once_both_ways(make_client):
    ann = make_client()
    db.session.add_all(
        Message(direction="out", channel="sms", to_addr=ann.mobile, body=f"n{i}", client_id=ann.id,
                status=Status.DELIVERED, created_at=minutes(i))
        for i in range(125)
    )
    db.session.add(Message(direction="in", channel="sms", to_addr="+1", from_addr=ann.mobile,
                           client_id=ann.id, status=Status.RECEIVED, created_at=BASE))
    db.session.commit()
    every = list(db.session.scalars(
        db.select(Message.id).where(Message.direction == "out").order_by(Message.id.desc())
    ))

    pages, cursor = [], None
    while True:
        page = queries.outbox_page(Filters(), before_id=cursor, limit=50)
        pages.append(page)
        cursor = page.older
        if cursor is None:
            break
    walked = [i for page in pages for i in ids(page)]
    assert [len(p.rows) for p in pages] == [50, 50, 25]
    assert walked == every
    assert pages[0].newer is None and pages[1].newer == every[50]

    back = queries.outbox_page(Filters(), after_id=pages[2].newer, limit=50)
    assert ids(back) == ids(pages[1])
    assert back.newer == every[50] and back.older == every[99]
    top = queries.outbox_page(Filters(), after_id=back.newer, limit=50)
    assert ids(top) == ids(pages[0]) and top.newer is None


def test_inbox_shows_the_outbound_each_message_answers(make_client, make_message):
    ann, bob = make_client(), make_client()
    first = make_message(ann, body="Reminder 1", created_at=minutes(0))
    second = make_message(ann, body="Reminder 2", created_at=minutes(60))
    make_message(ann, status=Status.QUEUED, body="Later", created_at=minutes(70),
                 send_at=minutes(600))
    make_message(bob, body="Not Ann's", created_at=minutes(80))
    answer1 = make_message(ann, direction=Direction.IN, body="Yes", created_at=minutes(30))
    answer2 = make_message(ann, direction=Direction.IN, body="No", created_at=minutes(90))
    unprompted = make_message(make_client(), direction=Direction.IN, body="Hi?",
                              created_at=minutes(95))
    raw = make_message(to_addr="+13105550199", body="To a number", created_at=minutes(5))
    # The inbound pipeline gives a new number an "unknown sender" client of its own.
    unknown = make_client(first_name="+13105550199", mobile="+13105550199", unknown_sender=True)
    stranger = make_message(unknown, direction=Direction.IN, body="Who?", created_at=minutes(100))

    page = queries.inbox_page(Filters())

    answers = {row.message.id: row.answers and row.answers.id for row in page.rows}
    assert answers == {answer1.id: first.id, answer2.id: second.id, unprompted.id: None,
                       stranger.id: raw.id}
    assert [r.message.id for r in page.rows] == [stranger.id, unprompted.id, answer2.id, answer1.id]


def test_inbox_search_uses_the_sender(make_client, make_message):
    ann = make_client(first_name="Ann", mobile="+12025550147")
    reply = make_message(ann, direction=Direction.IN, body="Running late")
    make_message(ann, body="Running late?")  # outbound: not in the inbox

    assert ids(queries.inbox_page(Filters(q="202 555 0147"))) == [reply.id]
    assert ids(queries.inbox_page(Filters(q="late"))) == [reply.id]
    assert ids(queries.inbox_page(Filters(q="Ann"))) == [reply.id]


def test_detail_has_events_in_order_and_the_reply(make_client, make_appointment, make_message,
                                                  add_event):
    ann = make_client()
    visit = make_appointment(client=ann, job_number="J-9")
    first = make_message(ann, visit, created_at=minutes(0))
    second = make_message(ann, visit, created_at=minutes(60))
    reply1 = make_message(ann, direction=Direction.IN, body="OK", created_at=minutes(20))
    make_message(ann, direction=Direction.IN, body="OK again", created_at=minutes(25))
    add_event(first, "delivered", at=minutes(2), code="0", detail="Delivered")
    add_event(first, "queued", at=minutes(0))
    add_event(first, "sent", at=minutes(1), code="accepted")

    detail = queries.message_detail(first.id)

    assert [e.status for e in detail.events] == ["queued", "sent", "delivered"]
    assert detail.client.id == ann.id and detail.appointment.id == visit.id
    assert detail.reply.id == reply1.id
    assert queries.message_detail(second.id).reply is None
    assert queries.message_detail(reply1.id).answers.id == first.id


def test_reply_to_a_message_typed_to_a_bare_number(make_client, make_message):
    raw = make_message(to_addr="+13105550199", created_at=minutes(0))
    make_message(make_client(), direction=Direction.IN, created_at=minutes(1))  # someone else
    unknown = make_client(mobile="+13105550199", unknown_sender=True)
    reply = make_message(unknown, direction=Direction.IN, body="Who?", created_at=minutes(2))

    assert queries.message_detail(raw.id).reply.id == reply.id
    assert queries.message_detail(reply.id).answers.id == raw.id
    assert queries.message_detail(987654) is None


def test_a_message_not_sent_yet_has_no_reply(make_client, make_message):
    ann = make_client()
    queued = make_message(ann, status=Status.QUEUED, created_at=minutes(0))
    make_message(ann, direction=Direction.IN, created_at=minutes(5))

    assert queries.message_detail(queued.id).reply is None


def test_watched_until_final_and_sent_only_within_the_receipt_window(make_client, make_message):
    ann = make_client()
    now = BASE + timedelta(hours=1)
    old_sent = make_message(ann, status=Status.SENT, created_at=BASE - timedelta(days=4))

    assert queries.watched(make_message(ann, status=Status.QUEUED), now)
    assert queries.watched(make_message(ann, status=Status.SENDING), now)
    assert queries.watched(make_message(ann, status=Status.SENT), now)
    assert not queries.watched(old_sent, now)
    assert not queries.watched(make_message(ann, status=Status.DELIVERED), now)
    assert not queries.watched(make_message(ann, status=Status.FAILED), now)
