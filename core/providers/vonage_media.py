"""Pictures and files of an inbound MMS, copied from Vonage's media servers into the attachment
store, so staff still see them after Vonage's link expires (48 hours: Vonage's "Secure inbound
media" guide, which also says that with the feature on, a GET needs the application's JWT).

The webhook stores the message first and only enqueues this job; the job refuses what is too
big, of a type we do not keep (the bytes decide, not the header), or too slow to arrive. Every
file it looks at leaves a "media" event, so the sweeper (`rearm`) can queue the job again for a
message whose job Redis lost, while Vonage still keeps the files.
"""

import logging
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from rq import Retry
from sqlalchemy import exists, select
from vonage_http_client import Auth

from core import settings
from core.extensions import db
from core.jobs import queue, redis
from core.messaging import attachments as files
from core.messaging.models import Channel, Direction, Message, MessageEvent
from core.messaging.transitions import write_events
from core.providers.registry import vonage_config
from core.providers.vonage import PROVIDER_NAME, pkcs8_pem

log = logging.getLogger(__name__)

FETCH = "core.providers.vonage_media.fetch_media"
MAX_BYTES = 5 * files.MB
TIMEOUT = 20  # seconds to connect, and between bytes (VONAGE_MEDIA_TIMEOUT overrides)
KINDS = {"image/jpeg": files.IMAGE, "image/png": files.IMAGE, "image/gif": files.IMAGE,
         "application/pdf": files.FILE, "text/plain": files.FILE,
         "audio/mpeg": files.AUDIO, "audio/wav": files.AUDIO}
GENERIC = {"", "application/octet-stream", "binary/octet-stream"}
VONAGE_HOSTS = (".nexmo.com", ".vonage.com")
CODE = "media"  # MessageEvent.code of what happened to each file
KEPT_FOR = timedelta(hours=47)  # Vonage keeps inbound media 48 hours
REARM_AFTER = timedelta(minutes=5)  # a job normally runs within seconds
REARM_EVERY = 900  # seconds between two re-queues of one message's job
LINK = re.compile(r"^\[(image|video|audio|file|vcard)\] (https://\S+)$", re.MULTILINE)


class MediaRefused(Exception):
    """A file we will not keep; the message says why, in words for staff."""


def enqueue_fetch(message_id: int, media: list[tuple[str, str]]) -> None:
    """Queue the copy of an inbound message's files (retried if Vonage does not answer)."""
    if not media:
        return
    try:
        queue("default").enqueue(FETCH, message_id, [list(m) for m in media], job_timeout=120,
                                 retry=Retry(max=3, interval=[10, 60, 300]))
    except Exception:  # the message is stored; without Redis its pictures stay links
        log.warning("could not queue the media of inbound message %s", message_id,
                    exc_info=True)


def rearm(now: datetime) -> int:
    """Sweeper: queue the job again for inbound MMS whose files nobody looked at yet."""
    looked = exists().where(MessageEvent.message_id == Message.id, MessageEvent.code == CODE)
    rows = db.session.execute(
        select(Message.id, Message.body)
        .where(Message.direction == Direction.IN, Message.channel == Channel.MMS,
               Message.provider == PROVIDER_NAME, Message.created_at > now - KEPT_FOR,
               Message.created_at < now - REARM_AFTER, ~looked)
        .order_by(Message.id).limit(200)
    ).all()
    db.session.commit()
    queued = 0
    for message_id, body in rows:
        media = LINK.findall(body or "")
        if media and redis().set(f"tidings:media:rearmed:{message_id}", 1, nx=True,
                                 ex=REARM_EVERY):
            enqueue_fetch(message_id, media)
            queued += 1
    return queued


def fetch_media(message_id: int, media: list[list[str]]) -> int:
    """Job: copy each (kind, url) not copied yet into the attachment store; how many were."""
    if db.session.get(Message, message_id) is None:
        return 0
    done = {a.filename for a in files.for_message(message_id)}
    stored = 0
    for _kind, url in media:
        name = _name(url)
        if name in done:
            continue  # a retried job: this one is in already
        try:
            checked = _checked(name, _download(url))
        except MediaRefused as refused:
            _note(message_id, f"{name} not kept: {refused}")
            continue
        files.store(None, [checked], message_id=message_id)
        _note(message_id, f"{name} kept ({checked.content_type}, {len(checked.data):,} bytes)")
        stored += 1
    db.session.commit()
    return stored


def _name(url: str) -> str:
    """The file's name for display: the URL's last path segment."""
    return (urlsplit(url).path.rstrip("/").rpartition("/")[2] or "media")[:200]


def _note(message_id: int, detail: str) -> None:
    status = db.session.scalar(select(Message.status).where(Message.id == message_id))
    write_events([{"message_id": message_id, "status": status, "code": CODE,
                   "detail": detail[:500]}])
    db.session.commit()


def _download(url: str) -> tuple[bytes, str]:
    """The file's bytes and declared type; MediaRefused when too big or not there, and the
    requests error (so RQ retries) when Vonage cannot be reached."""
    if urlsplit(url).scheme != "https":
        raise MediaRefused("not an https link")
    timeout = float(settings.config_value("VONAGE_MEDIA_TIMEOUT") or TIMEOUT)
    with requests.get(url, headers=_auth_header(url), timeout=timeout, stream=True) as response:
        if response.status_code in (404, 410):
            raise MediaRefused("the link has expired")
        if response.status_code >= 500 or response.status_code == 429:
            response.raise_for_status()  # transient: the job is retried
        if response.status_code != 200:
            raise MediaRefused(f"Vonage answered {response.status_code}")
        declared = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if int(response.headers.get("Content-Length") or 0) > MAX_BYTES:
            raise MediaRefused(f"larger than {MAX_BYTES // files.MB} MB")
        data = bytearray()
        for chunk in response.iter_content(64 * 1024):
            data += chunk
            if len(data) > MAX_BYTES:
                raise MediaRefused(f"larger than {MAX_BYTES // files.MB} MB")
    return bytes(data), declared


def _checked(name: str, download: tuple[bytes, str]) -> files.Checked:
    data, declared = download
    if not data:
        raise MediaRefused("empty")
    actual = files.sniff(data)
    if actual not in KINDS:
        raise MediaRefused("not a picture, PDF, text or recording (checked by its content)")
    if declared not in GENERIC and declared.split("/")[0] != actual.split("/")[0]:
        raise MediaRefused(f"sent as {declared} but is {actual}")
    return files.Checked(KINDS[actual], name, actual, data)


def _auth_header(url: str) -> dict:
    """The application's JWT, for Vonage's own media hosts only (never sent elsewhere)."""
    config = vonage_config()
    host = (urlsplit(url).hostname or "").lower()
    if not config.has_application or not (host.endswith(VONAGE_HOSTS) or
                                           host == config.api_host.split(":")[0]):
        return {}
    auth = Auth(application_id=config.application_id, private_key=pkcs8_pem(config.private_key))
    return {"Authorization": "Bearer " + auth.generate_application_jwt().decode()}
