"""Inbound MMS pictures copied from Vonage's media server (the local HTTPS fake) into the
attachment store: size cap, content check, expired links, the application's JWT."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest
import requests
from rq import Queue
from sqlalchemy import select

from core import settings
from core.extensions import db
from core.jobs import redis
from core.messaging import attachments as files
from core.messaging.models import Direction, Message, MessageEvent
from core.messaging.sweeper import sweep
from core.providers import vonage_media
from tests.compose.files import png
from tests.fake_vonage import Reply, fake_vonage, rsa_key_pem, vonage_ca  # noqa: F401
from tests.vonage_webhooks import payloads as p
from tests.vonage_webhooks.conftest import post_json
from tests.vonage_webhooks.test_routes import MESSAGES_INBOUND

APP_ID = "aaaaaaaa-bbbb-cccc-dddd-123456789abc"
PATH = "/v3/media/1b456509-974c-458b-aafa-45fc48a4d976"  # Vonage's example media id
PDF = b"%PDF-1.4\n" + b"0" * 100


@pytest.fixture
def media_server(app, signed_webhooks, fake_vonage, rsa_key_pem):  # noqa: F811
    """Vonage configured with an application; its API host is the fake."""
    settings.set("vonage_application_id", APP_ID)
    settings.set("vonage_private_key", rsa_key_pem)
    db.session.commit()
    app.config["VONAGE_API_HOST"] = fake_vonage.host
    redis().flushdb()
    yield fake_vonage
    app.config.pop("VONAGE_API_HOST", None)
    app.config.pop("VONAGE_MEDIA_TIMEOUT", None)


def _receive(client, server) -> Message:
    """The documented inbound MMS, its picture on the fake media server, posted twice."""
    payload = {**p.MESSAGES_INBOUND_MMS, "image": {**p.MESSAGES_INBOUND_MMS["image"],
                                                   "url": _url(server)}}
    for _ in range(2):
        assert post_json(client, MESSAGES_INBOUND, payload).status_code == 200
    return db.session.scalars(select(Message).where(Message.direction == Direction.IN)).one()


def _url(server) -> str:
    return f"https://{server.host}{PATH}"


def _queued() -> list:
    return [(job.func_name, job.args) for job in Queue("default", connection=redis()).jobs]


def _notes(message: Message) -> list[str]:
    query = select(MessageEvent.detail).where(MessageEvent.message_id == message.id,
                                              MessageEvent.code == vonage_media.CODE)
    return list(db.session.scalars(query))


def test_a_picture_is_copied_once_with_the_applications_jwt(client, media_server):
    message = _receive(client, media_server)
    [(func, (message_id, media))] = _queued()  # the replay queued nothing more
    assert (func, message_id) == (vonage_media.FETCH, message.id)
    picture = png(2000)
    media_server.script(PATH, Reply(body=picture, headers={"Content-Type": "image/png"}))
    assert vonage_media.fetch_media(message_id, media) == 1
    assert vonage_media.fetch_media(message_id, media) == 0  # a retried job changes nothing
    [stored] = files.for_message(message.id)
    assert (stored.kind, stored.content_type, stored.size) == ("image", "image/png", 2000)
    assert files.path_of(stored).read_bytes() == picture
    [seen] = media_server.seen(PATH)
    claims = jwt.decode(seen.bearer, options={"verify_signature": False})
    assert claims["application_id"] == APP_ID
    assert _notes(message) == [f"{PATH.rpartition('/')[2]} kept (image/png, 2,000 bytes)"]


@pytest.mark.parametrize(("reply", "why"), [
    (Reply(body=png(vonage_media.MAX_BYTES + 1), headers={"Content-Type": "image/png"}),
     "larger than 5 MB"),
    (Reply(body=b"MZ\x90\x00" + b"\x00" * 50, headers={"Content-Type": "image/png"}),
     "not a picture, PDF, text or recording"),
    (Reply(body=PDF, headers={"Content-Type": "image/jpeg"}), "sent as image/jpeg but is"),
    (Reply(status=404, body={"title": "Not found"}), "the link has expired"),
])
def test_what_is_not_kept_is_noted(client, media_server, reply, why):
    message = _receive(client, media_server)
    media_server.script(PATH, reply)
    assert vonage_media.fetch_media(message.id, [["image", _url(media_server)]]) == 0
    assert files.for_message(message.id) == []
    [note] = _notes(message)
    assert why in note


def test_a_slow_media_server_raises_so_the_job_is_retried(app, client, media_server):
    message = _receive(client, media_server)
    app.config["VONAGE_MEDIA_TIMEOUT"] = 0.3
    media_server.script(PATH, Reply(body=png(100), delay=1.0))
    with pytest.raises(requests.Timeout):
        vonage_media.fetch_media(message.id, [["image", _url(media_server)]])
    assert files.for_message(message.id) == []


def test_the_jwt_goes_to_vonage_hosts_only(media_server):
    assert vonage_media._auth_header("https://example.com/v3/media/x") == {}
    assert vonage_media._auth_header("https://api-us.nexmo.com/v3/media/x")["Authorization"]


def test_the_message_page_shows_the_kept_picture(client, media_server, admin_client):
    message = _receive(client, media_server)
    media_server.script(PATH, Reply(body=png(300), headers={"Content-Type": "image/png"}))
    vonage_media.fetch_media(message.id, [["image", _url(media_server)]])
    page = admin_client.get(f"/messages/{message.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'class="received-picture"' in html
    src = html.split('class="received-picture" src="', 1)[1].split('"', 1)[0]
    served = client.get(src)
    assert (served.status_code, served.data) == (200, png(300))


def test_the_conversation_shows_the_kept_picture(client, media_server, admin_client):
    message = _receive(client, media_server)
    media_server.script(PATH, Reply(body=png(300), headers={"Content-Type": "image/png"}))
    vonage_media.fetch_media(message.id, [["image", _url(media_server)]])
    page = admin_client.get(f"/conversations/{message.client_id}/messages?card=1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and html.count('class="received-picture"') == 1


def test_a_lost_media_job_is_queued_again_by_the_sweeper(client, media_server):
    """Redis lost the job: the sweeper queues it again (once per REARM_EVERY), until a file
    has been looked at."""
    now = datetime.now(UTC)
    payload = {**p.MESSAGES_INBOUND_MMS, "timestamp": now.isoformat(),
               "image": {"url": _url(media_server), "caption": "My rash"}}
    assert post_json(client, MESSAGES_INBOUND, payload).status_code == 200
    redis().flushdb()  # the job is lost
    assert sweep(now + timedelta(minutes=1)).get("mms_media", 0) == 0  # too early to tell
    later = now + vonage_media.REARM_AFTER + timedelta(seconds=5)
    assert sweep(later)["mms_media"] == 1
    assert sweep(later).get("mms_media", 0) == 0  # not again while that job may run
    [(func, (message_id, media))] = _queued()
    assert media == [["image", _url(media_server)]]
    media_server.script(PATH, Reply(body=png(300), headers={"Content-Type": "image/png"}))
    assert vonage_media.fetch_media(message_id, media) == 1
    redis().flushdb()
    assert sweep(later).get("mms_media", 0) == 0  # looked at: done
