"""The Conversations pages: list, unread counts, badge, reply, read/unread, assign, close."""

from sqlalchemy import select

from core import settings
from core.auth.models import Role
from core.conversations.models import Conversation
from core.extensions import db
from core.messaging.models import Message, Status
from core.simulator.operations import send_reply
from tests.conversations.test_keywords import phone_texts

HX = {"HX-Request": "true"}


def _badge(http) -> str:
    return http.get("/conversations/badge", headers=HX).get_data(as_text=True)


def test_unread_counts_in_the_list_and_the_badge_until_the_thread_is_opened(
        client_for, make_client, run_worker):
    ann = make_client(first_name="Ann", last_name="Lee", mobile="+12025550001")
    bob = make_client(first_name="Bob", last_name="Stone", mobile="+12025550002")
    http = client_for(Role.READ_ONLY)
    assert "badge-unread" not in _badge(http)
    send_reply(ann.mobile, "Running 5 minutes late")
    send_reply(ann.mobile, "Sorry!")
    send_reply(bob.mobile, "Can I move to Friday?")
    badge = _badge(http)
    assert 'data-unread="3"' in badge and ">3</span>" in badge
    listing = http.get("/conversations/", headers=HX).get_data(as_text=True)
    assert listing.index("Bob Stone") < listing.index("Ann Lee")  # newest activity first
    assert 'class="badge badge-unread">2<' in listing
    page = http.get(f"/conversations/{ann.id}").get_data(as_text=True)
    assert "Running 5 minutes late" in page and "Sorry!" in page
    assert 'data-unread="1"' in _badge(http)


def test_mark_unread_brings_the_count_back(client_for, make_client):
    ann = make_client(mobile="+12025550001")
    send_reply(ann.mobile, "hello")
    http = client_for(Role.EDIT)
    http.get(f"/conversations/{ann.id}")
    assert 'data-unread="0"' in _badge(http)
    response = http.post(f"/conversations/{ann.id}/read", data={"unread": "1"})
    assert response.status_code == 303
    assert 'data-unread="1"' in _badge(http)


def test_assign_close_and_reopen(client_for, make_client, make_user):
    ann = make_client(mobile="+12025550001")
    send_reply(ann.mobile, "hello")
    http = client_for(Role.EDIT)
    carol = make_user(Role.EDIT, name="Carol Staff")
    assert http.post(f"/conversations/{ann.id}/assign",
                     data={"user_id": carol.id}).status_code == 303
    assert db.session.get(Conversation, ann.id).assigned_to_id == carol.id
    assert "Carol Staff" in http.get("/conversations/").get_data(as_text=True)
    assert http.post(f"/conversations/{ann.id}/assign",
                     data={"user_id": 987654}, headers=HX).status_code == 422
    http.post(f"/conversations/{ann.id}/close", data={"closed": "1"})
    assert ann.name not in http.get("/conversations/").get_data(as_text=True)
    assert ann.name in http.get("/conversations/?state=closed").get_data(as_text=True)
    http.post(f"/conversations/{ann.id}/close", data={"closed": "0"})
    db.session.expire_all()
    assert db.session.get(Conversation, ann.id).closed_at is None
    assert ann.name in http.get("/conversations/").get_data(as_text=True)


def test_a_new_text_reopens_a_closed_conversation(client_for, make_client, run_worker):
    ann = make_client(mobile="+12025550001")
    send_reply(ann.mobile, "hello")
    run_worker()
    http = client_for(Role.EDIT)
    http.post(f"/conversations/{ann.id}/close", data={"closed": "1"})
    send_reply(ann.mobile, "are you there?")
    run_worker()
    db.session.expire_all()
    assert db.session.get(Conversation, ann.id).closed_at is None


def test_staff_reply_goes_through_the_pipeline_to_the_phone(client_for, make_client,
                                                           run_worker):
    ann = make_client(mobile="+12025550001")
    http = client_for(Role.EDIT)
    response = http.post(f"/conversations/{ann.id}/reply", data={"body": "See you at 3."},
                         headers=HX)
    assert response.status_code == 200 and "See you at 3." in response.get_data(as_text=True)
    run_worker()
    assert phone_texts(ann.mobile) == ["See you at 3."]
    message = db.session.scalar(select(Message).where(Message.direction == "out"))
    assert message.broadcast_id is not None and message.status in (Status.SENT, "delivered")


def test_reply_only_after_the_client_wrote_first(client_for, make_client, run_worker):
    settings.set("twoway_reply_after_client", True)
    settings.set("autoreply_unrecognised", False)
    db.session.commit()
    ann = make_client(mobile="+12025550001")
    http = client_for(Role.EDIT)
    refused = http.post(f"/conversations/{ann.id}/reply", data={"body": "Hi"}, headers=HX)
    assert refused.status_code == 422
    assert "only after" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Message.id)) is None
    send_reply(ann.mobile, "Hello, a question")
    run_worker()
    assert http.post(f"/conversations/{ann.id}/reply", data={"body": "Yes?"},
                     headers=HX).status_code == 200
    run_worker()
    assert phone_texts(ann.mobile) == ["Yes?"]


def test_reply_to_an_opted_out_client_is_refused_with_the_reason(client_for, make_client,
                                                                run_worker):
    ann = make_client(mobile="+12025550001")
    send_reply(ann.mobile, "STOP")
    run_worker()
    http = client_for(Role.EDIT)
    refused = http.post(f"/conversations/{ann.id}/reply", data={"body": "Hi"}, headers=HX)
    assert refused.status_code == 422 and "opted out" in refused.get_data(as_text=True)
    assert http.post(f"/conversations/{ann.id}/reply", data={"body": ""},
                     headers=HX).status_code == 422


def test_filters_responded_unrecognised_opted_out_and_search(client_for, make_client,
                                                             make_appointment, run_worker):
    ann = make_client(first_name="Ann", last_name="Lee", company="Acme", mobile="+12025550001")
    bob = make_client(first_name="Bob", last_name="Stone", mobile="+12025550002")
    cat = make_client(first_name="Cat", last_name="Wu", mobile="+12025550003")
    make_appointment(client=bob, job_number="J-4711", status="completed")
    http = client_for(Role.EDIT)
    for person in (ann, bob, cat):
        http.post(f"/conversations/{person.id}/reply", data={"body": "Reminder"})
    run_worker()
    send_reply(ann.mobile, "what is this")
    send_reply(cat.mobile, "STOP")
    run_worker()

    def names(query):
        html = http.get(f"/conversations/?{query}", headers=HX).get_data(as_text=True)
        return {p.first_name for p in (ann, bob, cat) if p.name in html}

    assert names("response=responded") == {"Ann", "Cat"}
    assert names("response=not_responded") == {"Bob"}
    assert names("response=unrecognised") == {"Ann"}
    assert names("response=opted_out") == {"Cat"}
    assert names("q=acme") == {"Ann"}
    assert names("q=j-4711") == {"Bob"}
    assert names("q=5550003") == {"Cat"}
    assert names("q=stone") == {"Bob"}


def test_settings_page_switches_auto_responses(client_for):
    admin = client_for(Role.ADMIN)
    page = admin.get("/conversations/settings").get_data(as_text=True)
    assert "Two-way texting" in page
    response = admin.post("/conversations/settings", data={"twoway_enabled": "y",
                                                           "autoreply_thanks": "y"})
    assert response.status_code == 303
    assert settings.get("twoway_enabled") is True
    assert settings.get("autoreply_unrecognised") is False
    assert client_for(Role.EDIT).get("/conversations/settings").status_code == 403


def test_the_client_card_loads_the_thread(client_for, make_client):
    ann = make_client(mobile="+12025550001")
    send_reply(ann.mobile, "hello from Ann")
    http = client_for(Role.READ_ONLY)
    card = http.get(f"/clients/{ann.id}").get_data(as_text=True)
    assert f"/conversations/{ann.id}/messages?card=1" in card
    fragment = http.get(f"/conversations/{ann.id}/messages?card=1", headers=HX)
    assert "hello from Ann" in fragment.get_data(as_text=True)
    assert 'data-unread="1"' in _badge(http)  # a glance at the card leaves it unread


def test_date_range_keeps_conversations_with_texts_in_those_days(client_for, make_client):
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from core.types import utcnow

    ann = make_client(first_name="Ann", last_name="Lee", mobile="+12025550001")
    bob = make_client(first_name="Bob", last_name="Stone", mobile="+12025550002")
    send_reply(ann.mobile, "old question")
    db.session.execute(db.update(Message).values(created_at=utcnow() - timedelta(days=10)))
    db.session.commit()
    send_reply(bob.mobile, "new question")
    http = client_for(Role.READ_ONLY)
    # the day as the business counts it (the filter's days are in its time zone)
    old_day = (utcnow() - timedelta(days=10)).astimezone(
        ZoneInfo(settings.business_timezone())).date()
    html = http.get(f"/conversations/?date_from={old_day}&date_to={old_day}",
                    headers=HX).get_data(as_text=True)
    assert "Ann Lee" in html and "Bob Stone" not in html
    html = http.get("/conversations/?date_from=not-a-date").get_data(as_text=True)
    assert "Ann Lee" in html and "Bob Stone" in html and "Not a valid date" in html


def test_compose_picker_marks_an_opted_out_client(client_for, make_client, run_worker):
    ann = make_client(first_name="Ann", last_name="Quist", mobile="+12025550001")
    send_reply(ann.mobile, "END")
    run_worker()
    html = client_for(Role.EDIT).get("/compose/clients?client_query=quist").get_data(as_text=True)
    assert "Ann Quist" in html and "Opted out" in html


def test_the_nav_badge_poll_is_204_without_counting_until_something_changes(
        client_for, make_client, query_counter):
    import re

    ann = make_client(mobile="+12025550001")
    http = client_for(Role.READ_ONLY)
    badge = _badge(http)
    [poll_url] = re.findall(r'hx-get="([^"]+)"', badge)
    assert 'hx-trigger="every 5s"' in badge
    with query_counter() as statements:
        unchanged = http.get(poll_url.replace("&amp;", "&"), headers=HX)
    assert unchanged.status_code == 204
    assert not [s for s in statements if "read_at" in s]  # the unread count was not run
    send_reply(ann.mobile, "hello")
    changed = http.get(poll_url.replace("&amp;", "&"), headers=HX)
    assert changed.status_code == 200 and 'data-unread="1"' in changed.get_data(as_text=True)
    http.get(f"/conversations/{ann.id}")  # reading the thread changes the count again
    assert http.get(poll_url.replace("&amp;", "&"), headers=HX).status_code == 200


def test_the_polled_list_is_204_until_a_text_or_a_thread_changes(client_for, make_client):
    import re

    ann = make_client(first_name="Ann", last_name="Lee", mobile="+12025550001")
    send_reply(ann.mobile, "hello")
    http = client_for(Role.EDIT)
    listing = http.get("/conversations/?state=all", headers=HX).get_data(as_text=True)
    [poll_url] = re.findall(r'id="conversation-list" hx-get="([^"]+)"', listing)
    poll_url = poll_url.replace("&amp;", "&")
    assert "state=all" in poll_url
    assert http.get(poll_url, headers=HX).status_code == 204
    http.post(f"/conversations/{ann.id}/close", data={"closed": "1"})
    changed = http.get(poll_url, headers=HX)
    assert changed.status_code == 200 and "Closed" in changed.get_data(as_text=True)
    send_reply(ann.mobile, "still there?")
    [poll_url] = re.findall(r'id="conversation-list" hx-get="([^"]+)"', changed.get_data(
        as_text=True))
    newer = http.get(poll_url.replace("&amp;", "&"), headers=HX)
    assert newer.status_code == 200 and "still there?" in newer.get_data(as_text=True)


def test_compose_page_refuses_an_opted_out_client_and_says_why(client_for, make_client,
                                                              run_worker):
    ann = make_client(first_name="Ann", last_name="Quist", mobile="+12025550001")
    send_reply(ann.mobile, "stop")
    run_worker()
    before = db.session.scalar(select(db.func.count(Message.id)))
    response = client_for(Role.EDIT).post("/compose/", data={
        "recipients": "person", "channel": "sms", "body": "Hello", "when": "now",
        "client_id": ann.id})
    assert response.status_code == 422
    assert "opted out" in response.get_data(as_text=True).lower()
    assert db.session.scalar(select(db.func.count(Message.id))) == before
