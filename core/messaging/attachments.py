"""Files sent with a broadcast: checked by content, stored under UPLOAD_DIR, served by signed URL.

Pictures for MMS, files for email, a recording for voice. The type is decided from the
first bytes of the file (its magic number), never from its name or the browser's claim.
Providers fetch the files from `/media/<token>`, a URL signed with SECRET_KEY that
expires after seven days.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.types import BigId, UTCDateTime, utcnow

IMAGE, FILE, AUDIO = "image", "file", "audio"
KB, MB = 1024, 1024 * 1024
MAX_AUDIO = 5 * MB
MAX_IMAGE, MAX_IMAGES = 600 * KB, 3
MAX_FILE, MAX_FILES_TOTAL = 5 * MB, 10 * MB
URL_MAX_AGE = 7 * 24 * 3600
SALT = "tidings.media"
EXTENSIONS = {
    "audio/mpeg": ".mp3", "audio/wav": ".wav", "image/jpeg": ".jpg", "image/png": ".png",
    "image/gif": ".gif", "application/pdf": ".pdf", "text/plain": ".txt",
}


class Attachment(db.Model):
    """One stored file of a broadcast."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    broadcast_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("broadcasts.id", ondelete="CASCADE"), index=True
    )
    # A picture or file a client sent (inbound MMS), copied from the provider (migration
    # 0016_provider).
    message_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # image, file, audio
    filename: Mapped[str] = mapped_column(String(200))  # as uploaded, for display only
    content_type: Mapped[str] = mapped_column(String(100))  # as detected from the content
    size: Mapped[int] = mapped_column(default=0)
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AttachmentError(ValueError):
    """An upload that was refused, with a message fit to show the person who chose it."""


@dataclass(frozen=True)
class Upload:
    """A file as received from a form: its name and its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Checked:
    """An upload whose content was recognised."""

    kind: str
    filename: str
    content_type: str
    data: bytes


# ---- recognising content ------------------------------------------------------------------


def sniff(data: bytes) -> str | None:
    """The content type the bytes really are, among the ones we accept, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if _is_mp3(data):
        return "audio/mpeg"
    if _is_text(data):
        return "text/plain"
    return None


_BITRATES = {  # kbit/s by bitrate index, Layer III
    1: (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    2: (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _frame_length(header: bytes) -> int:
    """Length of the MPEG Layer III frame starting with `header`, or 0 when it is not one."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return 0
    version, layer = (header[1] >> 3) & 3, (header[1] >> 1) & 3
    bitrate_index, rate_index = header[2] >> 4, (header[2] >> 2) & 3
    if version == 1 or layer != 1 or bitrate_index in (0, 15) or rate_index == 3:
        return 0
    bitrate = _BITRATES[1 if version == 3 else 2][bitrate_index] * 1000
    rate = _SAMPLE_RATES[version][rate_index]
    padding = (header[2] >> 1) & 1
    return (144 if version == 3 else 72) * bitrate // rate + padding


def _is_mp3(data: bytes) -> bool:
    """An MP3: an optional ID3v2 tag, then two consecutive MPEG Layer III frame headers."""
    offset = 0
    if data[:3] == b"ID3" and len(data) >= 10:
        size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]  # synchsafe
        offset = 10 + size + (10 if data[5] & 0x10 else 0)
        while offset < len(data) and data[offset] == 0:  # padding some encoders leave
            offset += 1
    length = _frame_length(data[offset:offset + 4])
    if not length:
        return False
    following = data[offset + length:offset + length + 4]
    return len(following) < 4 or bool(_frame_length(following))


def _is_text(data: bytes) -> bool:
    """Plain UTF-8 text without control characters other than tabs and line breaks."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return not any(ord(c) < 32 and c not in "\t\n\r\f" for c in text)


# ---- checking uploads for each channel -----------------------------------------------------


def _size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{max(1, round(n / KB))} KB"


def _check_one(upload: Upload, kind: str, accepted: dict[str, str], limit: int, what: str):
    name = upload.filename or "The file"
    if not upload.data:
        raise AttachmentError(f"“{name}” is empty.")
    content_type = sniff(upload.data)
    if content_type not in accepted:
        raise AttachmentError(f"“{name}” is not {what} (checked by its content, not its name).")
    if len(upload.data) > limit:
        raise AttachmentError(
            f"“{name}” is {_size(len(upload.data))}; {accepted[content_type]} may be at most "
            f"{_size(limit)}."
        )
    return Checked(kind, name[:200], content_type, upload.data)


def check_audio(uploads: list[Upload]) -> list[Checked]:
    """One MP3 or WAV recording of at most 5 MB."""
    if len(uploads) > 1:
        raise AttachmentError("A call can play one recording; choose a single MP3 or WAV file.")
    accepted = {"audio/mpeg": "a recording", "audio/wav": "a recording"}
    return [_check_one(u, AUDIO, accepted, MAX_AUDIO, "an MP3 or WAV recording") for u in uploads]


def check_images(uploads: list[Upload]) -> list[Checked]:
    """Up to 3 JPEG, PNG or GIF pictures of at most 600 KB each."""
    if len(uploads) > MAX_IMAGES:
        raise AttachmentError(f"A picture message can carry at most {MAX_IMAGES} pictures.")
    label = "a picture in a text message"
    accepted = {"image/jpeg": label, "image/png": label, "image/gif": label}
    return [_check_one(u, IMAGE, accepted, MAX_IMAGE, "a JPEG, PNG or GIF picture")
            for u in uploads]


def check_files(uploads: list[Upload]) -> list[Checked]:
    """PDF, JPEG, PNG or plain-text files of at most 5 MB each and 10 MB together."""
    label = "an email attachment"
    accepted = dict.fromkeys(("application/pdf", "image/jpeg", "image/png", "text/plain"), label)
    checked = [_check_one(u, FILE, accepted, MAX_FILE, "a PDF, JPEG, PNG or plain-text file")
               for u in uploads]
    total = sum(len(c.data) for c in checked)
    if total > MAX_FILES_TOTAL:
        raise AttachmentError(
            f"The attachments total {_size(total)}; an email may carry at most "
            f"{_size(MAX_FILES_TOTAL)}."
        )
    return checked


# ---- storing and finding ------------------------------------------------------------------


def folder() -> Path:
    """Where attachment files live (UPLOAD_DIR/attachments)."""
    return Path(current_app.config["UPLOAD_DIR"]) / "attachments"


def path_of(attachment: Attachment) -> Path:
    """The stored file of an attachment."""
    return folder() / attachment.stored_name


def store(broadcast_id: int | None, checked: list[Checked],
          message_id: int | None = None) -> list[Attachment]:
    """Write the files under random names and add their rows; the caller commits."""
    folder().mkdir(parents=True, exist_ok=True)
    rows: list[Attachment] = []
    try:
        for item in checked:
            row = Attachment(
                broadcast_id=broadcast_id, message_id=message_id, kind=item.kind,
                filename=item.filename, content_type=item.content_type, size=len(item.data),
                stored_name=secrets.token_urlsafe(24) + EXTENSIONS[item.content_type],
            )
            rows.append(row)
            path_of(row).write_bytes(item.data)
    except OSError:
        discard(rows)  # a full disk leaves no half-written set behind
        raise
    db.session.add_all(rows)
    return rows


def discard(rows: list[Attachment]) -> None:
    """Remove the files of rows that were never committed (the send was refused)."""
    for row in rows:
        path_of(row).unlink(missing_ok=True)


def for_message(message_id: int) -> list[Attachment]:
    """The files that came with one inbound message, in the order they were stored."""
    query = select(Attachment).where(Attachment.message_id == message_id)
    return list(db.session.scalars(query.order_by(Attachment.id)))


def for_messages(message_ids: list[int]) -> dict[int, list[Attachment]]:
    """The files of several inbound messages at once, by message id."""
    found: dict[int, list[Attachment]] = {}
    if message_ids:
        query = select(Attachment).where(Attachment.message_id.in_(message_ids))
        for row in db.session.scalars(query.order_by(Attachment.id)):
            found.setdefault(row.message_id, []).append(row)
    return found


def for_broadcast(broadcast_id: int) -> list[Attachment]:
    """The attachments of one broadcast, in upload order."""
    query = select(Attachment).where(Attachment.broadcast_id == broadcast_id)
    return list(db.session.scalars(query.order_by(Attachment.id)))


# ---- signed URLs ------------------------------------------------------------------------


def _serializer(issued_at: int | None = None) -> URLSafeTimedSerializer:
    signer = TimestampSigner
    if issued_at is not None:  # lets a test mint a token that is already old
        signer = type("FixedSigner", (TimestampSigner,), {"get_timestamp": lambda _: issued_at})
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT, signer=signer)


def token_for(attachment_id: int, issued_at: int | None = None) -> str:
    """A signed token naming one attachment."""
    return _serializer(issued_at).dumps(attachment_id)


def from_token(token: str, max_age: int = URL_MAX_AGE) -> Attachment | None:
    """The attachment a token names, when its signature is valid and not too old."""
    try:
        attachment_id = _serializer().loads(token, max_age=max_age)
    except BadSignature:  # SignatureExpired is a BadSignature too
        return None
    if not isinstance(attachment_id, int):
        return None
    return db.session.get(Attachment, attachment_id)


def _public_base_url() -> str:
    """The address providers reach this app at: the Settings page, else PUBLIC_BASE_URL."""
    from core import settings

    return settings.get("public_url") or current_app.config.get(
        "PUBLIC_BASE_URL", "http://127.0.0.1:5000"
    )


def signed_url(attachment: Attachment) -> str:
    """The absolute URL a provider fetches the file from."""
    base = _public_base_url().rstrip("/")
    return f"{base}/media/{token_for(attachment.id)}"


def urls_for_broadcast(broadcast_id: int) -> tuple[tuple[str, ...], str]:
    """(media_urls for pictures and files, audio_url for a voice recording or "")."""
    rows = for_broadcast(broadcast_id)
    media = tuple(signed_url(r) for r in rows if r.kind in (IMAGE, FILE))
    audio = next((signed_url(r) for r in rows if r.kind == AUDIO), "")
    return media, audio


def from_url(url: str) -> Attachment | None:
    """The attachment behind one of our signed URLs (lets the email sender attach the file)."""
    token = url.rstrip("/").rsplit("/media/", 1)[-1]
    return from_token(token) if "/media/" in url else None
