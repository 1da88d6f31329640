"""Staff-chat operations: unread counting, mentions, edit window, presence, retention, sharing."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core import settings
from core.audit.models import AuditEvent
from core.auth.models import Role, User
from core.extensions import db
from core.simulator.operations import send_reply
from core.team import operations, presence, queries
from core.team.models import ChatMessage
from core.team.operations import ChatError
from core.team.tasks import purge_old_messages
from core.types import utcnow


def test_unread_counts_per_chat_and_total_skip_own_and_deleted(make_user):
    ann, bob, cat = (make_user(Role.EDIT, name=n) for n in ("Ann Lee", "Bob Stone", "Cat Diaz"))
    group = operations.create_group(ann, "Desk", [bob, cat])
    direct = operations.open_direct(ann, bob)
    db.session.commit()
    operations.post(group, ann, "one")
    gone = operations.post(group, ann, "two")
    operations.post(direct, ann, "three")
    operations.post(group, cat, "cat's")  # posting marks the poster's chat read
    assert queries.unread_total(bob.id) == 4 and queries.unread_total(ann.id) == 1
    assert queries.unread_total(cat.id) == 0
    operations.delete_message(gone, ann)
    assert queries.unread_total(bob.id) == 3
    rows = {r.title: r.unread for r in queries.chat_list(bob)}
    assert rows == {"Desk": 2, "Ann Lee": 1}
    assert [r.title for r in queries.chat_list(bob)][0] == "Desk"  # newest activity first
    member = operations.membership(group.id, bob.id)
    operations.mark_read(member, gone.id + 10)
    assert queries.unread_total(bob.id) == 1  # the direct chat


def test_offline_messages_wait_unread(make_user):
    ann, bob = make_user(Role.EDIT, name="Ann Lee"), make_user(Role.READ_ONLY, name="Bob Stone")
    chat = operations.open_direct(ann, bob)
    db.session.commit()
    for n in range(5):
        operations.post(chat, ann, f"while you were out {n}")
    assert queries.unread_total(bob.id) == 5


def test_mentions_by_first_or_full_name_only_for_members(make_user):
    ann, bob, cat = (make_user(Role.EDIT, name=n) for n in ("Ann Lee", "Bob Stone", "Cat Diaz"))
    chat = operations.create_group(ann, "Desk", [bob])
    db.session.commit()
    message = operations.post(chat, ann, "@bob stone and @Cat, look")
    assert queries.mention_ids(bob.id, [message.id]) == {message.id}
    assert queries.mention_ids(cat.id, [message.id]) == set()  # not a member
    assert [r.mentions for r in queries.chat_list(bob)] == [1]


def test_edit_and_delete_only_by_the_author_within_five_minutes(make_user):
    ann, bob = make_user(Role.EDIT, name="Ann Lee"), make_user(Role.EDIT, name="Bob Stone")
    chat = operations.open_direct(ann, bob)
    db.session.commit()
    sent = utcnow()
    message = operations.post(chat, ann, "first", now=sent)
    with pytest.raises(ChatError):
        operations.edit(message, bob, "not mine", now=sent)
    operations.edit(message, ann, "first!", now=sent + timedelta(minutes=4, seconds=59))
    assert message.edited_at is not None and message.body == "first!"
    with pytest.raises(ChatError, match="5 minutes"):
        operations.delete_message(message, ann, now=sent + timedelta(minutes=5, seconds=1))
    operations.delete_message(message, ann, now=sent + timedelta(minutes=1))
    assert message.deleted_at is not None and message.body == ""


def test_presence_active_idle_away_offline_with_an_injected_clock(app, make_user):
    user = make_user(Role.EDIT)
    t0 = 1_800_000_000.0
    assert presence.of([user.id], now=t0)[user.id].state == "offline"
    presence.heartbeat(user.id, idle=0, now=t0)
    assert presence.of([user.id], now=t0 + 30)[user.id].state == "active"
    presence.heartbeat(user.id, idle=120, now=t0 + 120)
    assert presence.of([user.id], now=t0 + 120)[user.id].state == "idle"
    presence.heartbeat(user.id, idle=301, now=t0 + 301)
    assert presence.of([user.id], now=t0 + 301)[user.id].state == "away"
    gone = presence.of([user.id], now=t0 + 301 + 61)[user.id]
    assert gone.state == "offline" and gone.last_seen == t0 + 301
    presence.set_dnd(user.id, True)
    assert presence.of([user.id], now=t0)[user.id].dnd


def test_retention_purge_deletes_old_messages_and_is_audited(make_user):
    ann, bob = make_user(Role.EDIT, name="Ann Lee"), make_user(Role.EDIT, name="Bob Stone")
    chat = operations.open_direct(ann, bob)
    db.session.commit()
    operations.post(chat, ann, "ancient", now=utcnow() - timedelta(days=400))
    operations.post(chat, ann, "recent", now=utcnow() - timedelta(days=10))
    assert purge_old_messages() == 1
    assert db.session.scalars(select(ChatMessage.body)).all() == ["recent"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "team.purge"))
    assert "1 messages older than 365 days" in event.summary
    settings.set("team_retention_days", 5)
    db.session.commit()
    assert purge_old_messages() == 1


def test_window_is_seven_days_and_earlier_pages_by_id(make_user):
    ann, bob = make_user(Role.EDIT, name="Ann Lee"), make_user(Role.EDIT, name="Bob Stone")
    chat = operations.open_direct(ann, bob)
    db.session.commit()
    old = operations.post(chat, ann, "old", now=utcnow() - timedelta(days=8))
    new = operations.post(chat, ann, "new")
    assert [m.body for m in queries.messages(chat.id)] == ["new"]
    assert queries.has_earlier(chat.id, new.id)
    assert [m.id for m in queries.messages(chat.id, before_id=new.id)] == [old.id]


def test_unassigned_client_reply_is_announced_in_the_chosen_group(
        make_user, make_client, run_worker):
    ann = make_user(Role.EDIT, name="Ann Lee")
    chat = operations.create_group(ann, "Replies", [])
    db.session.commit()
    settings.set("team_announce_chat_id", chat.id)
    db.session.commit()
    client = make_client(first_name="Hal", last_name="Hill", mobile="+12025550009")
    send_reply(client.mobile, "Can I come at 3?")
    run_worker()
    cards = db.session.scalars(select(ChatMessage).where(ChatMessage.chat_id == chat.id)).all()
    assert [c.client_id for c in cards] == [client.id]
    assert db.session.scalar(select(func.count(ChatMessage.id))) == 1


def test_alerts_count_direct_messages_and_mentions_only(make_user):
    ann, bob, cat = (make_user(Role.EDIT, name=n) for n in ("Ann Lee", "Bob Stone", "Cat Diaz"))
    group = operations.create_group(ann, "Desk", [bob, cat])
    direct = operations.open_direct(ann, bob)
    db.session.commit()
    operations.post(group, ann, "general news")
    operations.post(group, ann, "@Bob please call")
    operations.post(direct, ann, "psst")
    assert queries.alert_total(bob.id) == 2 and queries.alert_total(cat.id) == 0
    operations.add_member(group, ann, make_user(Role.EDIT, name="Dan New"))
    db.session.commit()
    newcomer = queries.chat_list(db.session.scalars(
        select(User).where(User.name == "Dan New")).one())
    assert newcomer[0].unread == 0  # joined after it was said
