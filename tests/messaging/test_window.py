"""The sending window (quiet hours) in the recipient's zone: automated sends wait for it, a
one-off send in it needs the override, and the compose preview says when each one goes."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core import settings
from core.auth.models import Role
from core.extensions import db
from core.jobs import queue
from core.messaging import window
from core.messaging.compose import ComposeError, create_broadcast
from core.messaging.models import Broadcast, Message
from core.messaging.pipeline import trigger_time
from core.messaging.recipients import plan
from core.types import utcnow

NY, LONDON, SYDNEY = (ZoneInfo(z) for z in ("America/New_York", "Europe/London",
                                            "Australia/Sydney"))
EIGHT_TO_NINE = window.Window(time(8), time(21))


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize("zone, moment, opens", [
    # New York leaves summer time on 1 Nov 2026: 23:00 EDT waits for 08:00 EST (13:00 UTC).
    (NY, _utc(2026, 11, 1, 3), _utc(2026, 11, 1, 13)),
    # London leaves summer time on 25 Oct 2026: 22:00 BST waits for 08:00 GMT.
    (LONDON, _utc(2026, 10, 24, 21), _utc(2026, 10, 25, 8)),
    # Sydney enters summer time on 4 Oct 2026: 22:00 AEST waits for 08:00 AEDT (21:00 UTC).
    (SYDNEY, _utc(2026, 10, 3, 12), _utc(2026, 10, 3, 21)),
    # Early morning waits for the same day's start; inside the window goes at once.
    (NY, _utc(2026, 7, 1, 9), _utc(2026, 7, 1, 12)),
    (LONDON, _utc(2026, 7, 1, 12), _utc(2026, 7, 1, 12)),
])
def test_next_open_is_the_window_start_in_the_recipients_zone(zone, moment, opens):
    assert EIGHT_TO_NINE.next_open(moment, zone) == opens
    assert EIGHT_TO_NINE.is_open(opens, zone)


def test_an_overnight_window_and_no_window():
    night = window.Window(time(22), time(6))
    assert night.is_open(_utc(2026, 7, 1, 3), LONDON)  # 04:00 BST
    assert night.next_open(_utc(2026, 7, 1, 12), LONDON) == _utc(2026, 7, 1, 21)
    always = window.Window(time(0), time(0))
    assert always.is_open(_utc(2026, 7, 1, 3), NY) and always.label() == "none"


def _window(start="08:00", end="21:00"):
    settings.set("sending_window_start", start)
    settings.set("sending_window_end", end)
    db.session.commit()


def _automated(ids):
    return Broadcast(channel="sms", subject="", body="Reminder {{ first_name }}",
                     recipients={"appointment_ids": ids}, options={"automation": {"rule": 1}})


def test_an_automated_text_waits_for_each_recipients_window(app, make_client, make_appointment):
    _window()
    people = [
        make_client(first_name="Nyla", timezone="America/New_York"),
        make_client(first_name="Lou", timezone="Europe/London"),
        make_client(first_name="Syd", timezone="Australia/Sydney"),
        # No zone of their own: their Los Angeles number decides.
        make_client(first_name="Lana", timezone=None, mobile="+12135550147"),
        make_client(first_name="Mail", timezone="Europe/London", contact_method="email"),
    ]
    ids = [make_appointment(client=p).id for p in people]
    now = _utc(2026, 11, 1, 3)  # 23:00 EDT, 03:00 GMT, 14:00 AEDT, 20:00 PDT
    rows = {r.body.split()[-1]: r for r in plan(_automated(ids), now=now)}
    assert (rows["Nyla"].send_at, rows["Nyla"].quiet) == (_utc(2026, 11, 1, 13), "held")
    assert (rows["Lou"].send_at, rows["Lou"].zone) == (_utc(2026, 11, 1, 8), "Europe/London")
    assert (rows["Syd"].send_at, rows["Syd"].quiet) == (now, "")
    assert (rows["Lana"].send_at, rows["Lana"].zone) == (now, "America/Los_Angeles")
    assert (rows["Mail"].channel, rows["Mail"].send_at) == ("email", now)  # email never waits


def test_a_one_off_send_in_quiet_hours_needs_the_override(app, make_client):
    person = make_client(timezone="America/New_York")
    here = utcnow().astimezone(NY)
    # A window that is closed right now in New York (it opens in two hours).
    _window(f"{(here + timedelta(hours=2)):%H}:00", f"{(here + timedelta(hours=3)):%H}:00")
    with pytest.raises(ComposeError, match="1 recipient is in quiet hours"):
        create_broadcast(actor=None, channel="sms", recipients={"client_id": person.id},
                         body="Late news")
    assert db.session.scalar(db.select(db.func.count()).select_from(Broadcast)) == 0
    broadcast = create_broadcast(actor=None, channel="sms", recipients={"client_id": person.id},
                                 body="Late news", options={"outside_window": True})
    assert broadcast.options == {"outside_window": True}


def test_compose_preview_says_when_it_goes_their_time_and_refuses_without_override(
        app, client_for, make_client, run_worker):
    editor = client_for(Role.EDIT)
    person = make_client(first_name="Sid", timezone="Australia/Sydney")
    here = utcnow().astimezone(SYDNEY)
    start = (here + timedelta(hours=2)).replace(minute=0)
    _window(f"{start:%H}:00", f"{(here + timedelta(hours=3)):%H}:00")
    form = {"recipients": "person", "client_id": person.id, "channel": "sms", "when": "now",
            "body": "Hi {{ first_name }}"}
    html = editor.post("/compose/preview", data=form).get_data(as_text=True)
    hour = start.hour % 12 or 12
    assert f"goes at {hour}:00 {'PM' if start.hour >= 12 else 'AM'} their time" in html
    assert "1 in quiet hours" in html
    refused = editor.post("/compose/", data=form)
    assert refused.status_code == 422 and "quiet hours" in refused.get_data(as_text=True)

    sent = editor.post("/compose/", data={**form, "outside_window": "y"})
    assert sent.status_code == 303
    run_worker()
    message = db.session.scalars(db.select(Message)).one()
    assert message.status in ("sent", "delivered")


def test_a_held_message_goes_out_when_its_window_opens(app, make_client, make_appointment,
                                                       run_worker):
    person = make_client(first_name="Nora", timezone="America/New_York")
    appointment = make_appointment(client=person)
    here = utcnow().astimezone(NY)
    opens = (here + timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    _window(f"{opens:%H}:00", f"{(here + timedelta(hours=3)):%H}:00")
    broadcast = create_broadcast(actor=None, channel="sms",
                                 recipients={"appointment_ids": [appointment.id]},
                                 body="Reminder", options={"automation": {"rule": 1}})
    run_worker()
    message = db.session.scalars(db.select(Message)).one()
    assert message.status == "queued" and message.send_at == opens.astimezone(UTC)
    assert db.session.get(Broadcast, broadcast.id).status != "sent"
    # Its delivery job waits in RQ's scheduler for the window's start (no earlier).
    registry = queue("default").scheduled_job_registry
    (job_id,) = registry.get_job_ids()
    job = queue("default").fetch_job(job_id)
    assert job.args == ([message.id],)
    assert registry.get_scheduled_time(job) == trigger_time(opens)


def test_a_scheduled_send_edited_into_quiet_hours_needs_the_override(app, client_for,
                                                                     make_client):
    _window()
    editor = client_for(Role.EDIT)
    person = make_client(timezone="America/New_York")
    day = (utcnow() + timedelta(days=3)).astimezone(NY).date().isoformat()
    form = {"recipients": "person", "client_id": person.id, "channel": "sms", "when": "later",
            "body": "Hi", "send_date": day, "send_time": "10:00"}
    assert editor.post("/compose/", data=form).status_code == 303
    broadcast = db.session.scalars(db.select(Broadcast)).one()
    url = f"/compose/broadcast/{broadcast.id}/edit"
    late = {"body": "Hi", "when": "later", "send_date": day, "send_time": "23:00"}
    refused = editor.post(url, data=late)
    assert refused.status_code == 422 and "quiet hours" in refused.get_data(as_text=True)
    assert editor.post(url, data={**late, "outside_window": "y"}).status_code == 303
    db.session.expire_all()
    options = db.session.get(Broadcast, broadcast.id).options
    assert (options["outside_window"], options["category"]) == (True, "transactional")
    assert '<input checked id="outside_window"' in editor.get(url).get_data(as_text=True)
