"""Team pages: list, chat, posting, access for non-members, badge, edit/delete, rate limit."""

import re
from datetime import timedelta

from core.auth.models import Role
from core.extensions import db
from core.team import operations
from core.team.models import Chat
from core.types import utcnow

HX = {"HX-Request": "true"}


def test_direct_chat_send_and_the_other_sees_it_unread(staff):
    ann, bob = staff(name="Ann Lee"), staff(Role.READ_ONLY, name="Bob Stone")
    response = ann.post("/team/direct", data={"user_id": bob.user.id})
    assert response.status_code == 303
    chat_url = response.location
    assert ann.post(chat_url + "/send", data={"body": "Hi Bob"}).status_code == 303
    page = bob.get("/team/").get_data(as_text=True)
    assert "Ann Lee" in page and 'title="1 unread"' in page
    badge = bob.get("/team/badge", headers=HX).get_data(as_text=True)
    assert 'data-unread="1"' in badge
    chat = bob.get(chat_url).get_data(as_text=True)
    assert "Hi Bob" in chat
    assert 'data-unread="0"' in bob.get("/team/badge", headers=HX).get_data(as_text=True)
    assert "✓✓" in ann.get(chat_url).get_data(as_text=True)


def test_poll_answers_204_until_something_changes(staff):
    ann, bob = staff(name="Ann Lee"), staff(name="Bob Stone")
    chat_url = ann.post("/team/direct", data={"user_id": bob.user.id}).location
    page = bob.get(chat_url).get_data(as_text=True)
    poll = re.search(r'id="team-messages"[^>]*hx-get="([^"]+)"', page, re.S).group(1)
    poll = poll.replace("&amp;", "&")
    assert bob.get(poll, headers=HX).status_code == 204
    ann.post(chat_url + "/send", data={"body": "News"})
    fresh = bob.get(poll, headers=HX)
    assert fresh.status_code == 200 and "News" in fresh.get_data(as_text=True)
    version = re.search(r'id="nav-team"[^>]*hx-get="([^"]+)"', page, re.S)
    assert version is not None


def test_non_member_gets_404_for_every_chat_and_nothing_leaks(staff, group):
    ann, bob, eve = staff(name="Ann Lee"), staff(name="Bob Stone"), staff(name="Eve Outsider")
    secret = group(ann.user, [bob.user], name="Secret plans")
    direct = operations.open_direct(ann.user, bob.user)
    operations.post(secret, ann.user, "the private text")
    db.session.commit()
    ids = [c.id for c in db.session.query(Chat)] + [9999]
    for chat_id in ids:
        for method, url in [("get", f"/team/{chat_id}"), ("get", f"/team/{chat_id}/messages"),
                            ("get", f"/team/{chat_id}/messages?before=999"),
                            ("get", f"/team/{chat_id}/seen"),
                            ("post", f"/team/{chat_id}/m/1/edit"),
                            ("post", f"/team/{chat_id}/m/1/delete"),
                            ("post", f"/team/{chat_id}/send"),
                            ("post", f"/team/{chat_id}/members"),
                            ("post", f"/team/{chat_id}/members/{eve.user.id}/remove")]:
            response = getattr(eve, method)(url, data={"body": "x", "user_id": eve.user.id})
            body = response.get_data(as_text=True)
            assert response.status_code == 404, (url, response.status_code)
            assert "Secret plans" not in body and "private text" not in body
    assert "Secret plans" not in eve.get("/team/").get_data(as_text=True)
    assert direct.id in ids


def test_removed_member_loses_access_at_once(staff, group):
    ann, bob = staff(name="Ann Lee"), staff(name="Bob Stone")
    chat = group(ann.user, [bob.user])
    assert bob.get(f"/team/{chat.id}").status_code == 200
    assert ann.post(f"/team/{chat.id}/members/{bob.user.id}/remove").status_code == 303
    assert bob.get(f"/team/{chat.id}").status_code == 404
    assert bob.post(f"/team/{chat.id}/send", data={"body": "still here?"}).status_code == 404


def test_only_creator_and_admins_manage_members(staff, group):
    ann, bob, cat = staff(name="Ann Lee"), staff(name="Bob Stone"), staff(name="Cat Diaz")
    boss = staff(Role.ADMIN, name="Boss")
    chat = group(ann.user, [bob.user, boss.user])
    assert bob.post(f"/team/{chat.id}/members", data={"user_id": cat.user.id}).status_code == 403
    assert boss.post(f"/team/{chat.id}/members", data={"user_id": cat.user.id}).status_code == 303
    assert cat.get(f"/team/{chat.id}").status_code == 200


def test_read_only_cannot_create_a_group_but_can_chat(staff):
    viewer, ann = staff(Role.READ_ONLY, name="Val Viewer"), staff(name="Ann Lee")
    assert viewer.post("/team/groups", data={"name": "Mine"}).status_code == 403
    assert viewer.post("/team/direct", data={"user_id": ann.user.id}).status_code == 303


def test_group_seen_by_and_mentions(staff, group):
    ann, bob, cat = staff(name="Ann Lee"), staff(name="Bob Stone"), staff(name="Cat Diaz")
    chat = group(ann.user, [bob.user, cat.user])
    ann.post(f"/team/{chat.id}/send", data={"body": "@Bob can you call Mrs Hill?"})
    assert 'badge-mention' in bob.get("/team/").get_data(as_text=True)
    assert 'badge-mention' not in cat.get("/team/").get_data(as_text=True)
    page = bob.get(f"/team/{chat.id}").get_data(as_text=True)
    assert "mentions-me" in page and '<mark class="mention">@Bob</mark>' in page
    assert "Seen by 1" in ann.get(f"/team/{chat.id}").get_data(as_text=True)
    cat.get(f"/team/{chat.id}")
    assert "Seen by 2" in ann.get(f"/team/{chat.id}").get_data(as_text=True)


def test_text_is_escaped_and_javascript_links_are_not_clickable(staff, group):
    ann, bob = staff(name="Ann Lee"), staff(name="Bob Stone")
    chat = group(ann.user, [bob.user], name="<b>x</b>")
    body = ('<script>alert(1)</script> javascript:alert(1) '
            '<a href="javascript:alert(2)">x</a> see https://example.com/a?b=1&c=2.')
    ann.post(f"/team/{chat.id}/send", data={"body": body})
    page = bob.get(f"/team/{chat.id}").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "<b>x</b>" not in page
    assert 'href="javascript' not in page
    assert '<a href="https://example.com/a?b=1&amp;c=2"' in page


def test_too_long_and_rate_limited_messages_get_a_clear_message(staff, group):
    ann, bob = staff(name="Ann Lee"), staff(name="Bob Stone")
    chat = group(ann.user, [bob.user])
    long = ann.post(f"/team/{chat.id}/send", data={"body": "x" * 4001}, headers=HX)
    assert "at most 4,000 characters" in long.get_data(as_text=True)
    for _ in range(30):
        assert ann.post(f"/team/{chat.id}/send", data={"body": "hi"}, headers=HX).status_code == 200
    limited = ann.post(f"/team/{chat.id}/send", data={"body": "one more"}, headers=HX)
    assert limited.status_code == 429 and "Slow down" in limited.get_data(as_text=True)


def test_author_edits_and_deletes_within_the_window(staff, group):
    ann, bob = staff(name="Ann Lee"), staff(name="Bob Stone")
    chat = group(ann.user, [bob.user])
    message = operations.post(chat, ann.user, "typo hre")
    edit = f"/team/{chat.id}/m/{message.id}/edit"
    assert bob.post(edit, data={"body": "hack"}).status_code == 303
    assert "hack" not in bob.get(f"/team/{chat.id}").get_data(as_text=True)
    ann.post(f"/team/{chat.id}/m/{message.id}/edit", data={"body": "typo here"})
    page = bob.get(f"/team/{chat.id}").get_data(as_text=True)
    assert "typo here" in page and "(edited)" in page
    ann.post(f"/team/{chat.id}/m/{message.id}/delete")
    page = bob.get(f"/team/{chat.id}").get_data(as_text=True)
    assert "typo here" not in page and "Message deleted" in page


def test_admin_settings_and_none_role_sees_no_team(staff, client_for):
    admin = staff(Role.ADMIN, name="Boss")
    assert admin.get("/team/settings").status_code == 200
    response = admin.post("/team/settings", data={"retention_days": 30, "announce_chat_id": 0})
    assert response.status_code == 303
    from core import settings
    assert settings.get("team_retention_days") == 30
    assert 'id="nav-team"' not in client_for(Role.NONE).get("/").get_data(as_text=True)


def test_read_receipts_poll_apart_from_the_messages(staff, group):
    ann, bob = staff(name="Ann Lee"), staff(name="Bob Stone")
    chat = group(ann.user, [bob.user])
    ann.post(f"/team/{chat.id}/send", data={"body": "Lunch?"})
    page = ann.get(f"/team/{chat.id}").get_data(as_text=True)
    seen = re.search(r'id="team-seen" hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
    messages = re.search(r'id="team-messages"[^>]*hx-get="([^"]+)"', page, re.S).group(1)
    assert ann.get(seen, headers=HX).status_code == 204
    bob.get(f"/team/{chat.id}")  # Bob reads it
    receipts = ann.get(seen, headers=HX).get_data(as_text=True)
    assert 'hx-swap-oob="true"' in receipts and "Seen by 1" in receipts
    assert ann.get(messages.replace("&amp;", "&"), headers=HX).status_code == 204


def test_load_earlier_and_sharing_a_client_conversation(staff, group, make_client):
    ann, bob = staff(name="Ann Lee"), staff(Role.READ_ONLY, name="Bob Stone")
    chat = group(ann.user, [bob.user])
    old = operations.post(chat, ann.user, "from last month", now=utcnow() - timedelta(days=30))
    page = bob.get(f"/team/{chat.id}").get_data(as_text=True)
    assert "from last month" not in page and "Load earlier" in page
    earlier = bob.get(f"/team/{chat.id}/messages?before=999999", headers=HX)
    assert "from last month" in earlier.get_data(as_text=True)
    hal = make_client(first_name="Hal", last_name="Hill", mobile="+12025550009")
    thread = bob.get(f"/conversations/{hal.id}").get_data(as_text=True)
    assert "Discuss with team" in thread
    shared = bob.post(f"/team/share/{hal.id}", data={"chat_id": chat.id, "body": "<i>look</i>"})
    assert shared.status_code == 303
    page = ann.get(f"/team/{chat.id}").get_data(as_text=True)
    assert f'href="/conversations/{hal.id}"' in page and "Conversation with Hal Hill" in page
    assert "&lt;i&gt;look&lt;/i&gt;" in page
    eve = staff(name="Eve Outsider")
    refused = eve.post(f"/team/share/{hal.id}", data={"chat_id": chat.id})
    assert refused.status_code == 400 and "Front desk" not in refused.get_data(as_text=True)
    assert old.id


def test_heartbeat_shows_presence_and_do_not_disturb(staff, group):
    ann, bob = staff(name="Ann Lee"), staff(name="Bob Stone")
    chat = group(ann.user, [bob.user])
    assert "never seen" in ann.get(f"/team/{chat.id}").get_data(as_text=True)
    assert bob.post("/team/presence", data={"idle": "3"}).status_code == 204
    assert "presence-active" in ann.get(f"/team/{chat.id}").get_data(as_text=True)
    back = bob.post("/team/dnd", data={"on": "1", "next": f"/team/{chat.id}"})
    assert back.status_code == 303 and back.location.endswith(f"/team/{chat.id}")
    assert "do not disturb" in ann.get(f"/team/{chat.id}").get_data(as_text=True)
    assert "Do not disturb: on" in bob.get(f"/team/{chat.id}").get_data(as_text=True)
    away = bob.post("/team/dnd", data={"on": "0", "next": "https://evil.example/"})
    assert away.location.endswith("/team/")


def test_a_polled_list_keeps_the_pages_new_chat_forms_and_a_reader_gets_no_receipts(staff,
                                                                                    group):
    ann, bob = staff(name="Ann Lee"), staff(name="Bob Stone")
    chat = group(ann.user, [bob.user])
    page = bob.get(f"/team/{chat.id}").get_data(as_text=True)
    assert "New direct chat" in page and 'id="team-new-chats" hx-preserve="true"' in page
    poll = re.search(r'id="team-list"[^>]*hx-get="([^"]+)"', page, re.S).group(1)
    seen = re.search(r'id="team-seen" hx-get="([^"]+)"', page).group(1).replace("&amp;", "&")
    ann.post(f"/team/{chat.id}/send", data={"body": "Lunch?"})
    rows = bob.get(poll.replace("&amp;", "&"), headers=HX).get_data(as_text=True)
    assert 'title="1 unread"' in rows  # the rows are redrawn ...
    assert 'id="team-new-chats" hx-preserve="true"' in rows  # ... the forms stay in the page
    assert "New direct chat" not in rows
    bob.get(f"/team/{chat.id}")  # Bob reads it: Ann's receipt moves, Bob has none to show
    answer = bob.get(seen, headers=HX)
    assert answer.status_code == 200 and "seen-" not in answer.get_data(as_text=True)
    mine = ann.get(seen, headers=HX).get_data(as_text=True)
    assert "Seen by 1" in mine



def test_a_pane_that_marks_messages_read_costs_the_same_queries_for_5_or_25_messages(
        staff, group, query_counter):
    ann, bob = staff(name="Ann Lee"), staff(name="Bob Stone")
    chat = group(ann.user, [bob.user])
    counts, posted = [], 0
    for total in (5, 25):
        for n in range(posted, total):
            operations.post(chat, ann.user, f"note {n}")
        posted = total
        db.session.expire_all()
        with query_counter() as statements:
            answer = bob.get(f"/team/{chat.id}/messages", headers=HX)  # marks them read
        assert answer.status_code == 200
        assert f"note {total - 1}" in answer.get_data(as_text=True)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
