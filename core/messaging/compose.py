"""Compose operations: check a message, write one Broadcast, hand it to the delivery pipeline.

Everything is validated before anything is written: a refused send leaves no row and no file.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from core.appointments.models import Appointment
from core.audit.operations import record
from core.clients.models import Client
from core.extensions import db
from core.messaging import attachments as files
from core.messaging import signals, window
from core.messaging.models import Broadcast, BroadcastStatus, Channel
from core.messaging.recipients import (  # noqa: F401  (describe_* and find_clients re-exported)
    ONE_PER_CLIENT,
    Summary,
    count_reachable,
    describe_many,
    describe_recipients,
    find_clients,
    plan,
    summarize,
)
from core.messaging.segments import MAX_SMS_CHARS
from core.messaging.templating import (
    TemplateError,
    appointment_list,
    business_zone,
    compile_template,
    format_date,
    format_time,
)
from core.phones import PhoneError, mobile_e164, to_e164
from core.types import utcnow

SYNC_PLAN_LIMIT = 1_000  # appointments planned in full inside the compose request
SAMPLE = 50  # recipients merged in the request of a larger send (for the length check)
GRACE = timedelta(minutes=1)  # a time this far in the past still means "now" (slow typing)
NOW_WINDOW = timedelta(seconds=5)  # a time this close is "now", not a scheduled send
SCHEDULED, PENDING = BroadcastStatus.SCHEDULED, BroadcastStatus.PENDING
CHANGEABLE = (SCHEDULED, PENDING)  # a send that has not started going
STOPPABLE = (SCHEDULED, PENDING, BroadcastStatus.SENDING)  # what is still queued can be cancelled
CHANNEL_LABELS = {"sms": "Text (SMS)", "mms": "Picture message (MMS)", "email": "Email",
                  "voice": "Voice call"}


class ComposeError(ValueError):
    """A send that was refused, with a message fit to show the person composing it."""


@dataclass(frozen=True)
class ValidSend:
    """A validated send, ready to be written."""

    channel: Channel
    recipients: dict
    subject: str
    body: str
    send_at: datetime
    summary: Summary
    uploads: list[files.Checked]


def _pipeline():
    """The delivery pipeline, imported late (it imports the models and the jobs)."""
    from core.messaging import pipeline

    return pipeline


def create_broadcast(*, actor, channel, recipients, subject="", body="", send_at=None,
                     attachments=(), secure=None, options=None) -> Broadcast:
    """Validate, write one Broadcast (and its files), commit, and start its delivery.

    `secure` ({"pin": "", "lifetime_hours": 72}) sends the text through the secure portal.
    `options` (SEND_OPTIONS) may allow email to clients with no mobile (`email_fallback`)
    and a send in the recipients' quiet hours (`outside_window`); an `automation` send is
    held to each recipient's sending window instead of refused.
    """
    secure_options = _secure_options(channel, secure)
    options = {k: v for k, v in (options or {}).items() if v}
    checked = check(channel=channel, recipients=recipients, subject=subject, body=body,
                    send_at=send_at, uploads=list(attachments),
                    secure=secure_options is not None, options=options)
    broadcast = Broadcast(
        created_by_id=getattr(actor, "id", None), channel=checked.channel.value,
        subject=checked.subject, body=checked.body, recipients=checked.recipients,
        send_at=checked.send_at, status=_status_for(checked.send_at),
        total=checked.summary.total, options=options,
    )
    db.session.add(broadcast)
    db.session.flush()
    stored = []
    try:
        # A feature may keep the files itself (secure: encrypted, never sent).
        features = {"secure": secure_options} if secure_options is not None else {}
        _reserve(broadcast, checked.summary)
        if not _features_took_files(broadcast, features, checked.uploads):
            stored = files.store(broadcast.id, checked.uploads)
        record("broadcast.created", _audit_summary(broadcast, checked.summary), actor=actor,
               client_id=checked.recipients.get("client_id"), data={"broadcast_id": broadcast.id})
        db.session.commit()
    except Exception:
        db.session.rollback()
        files.discard(stored)  # no row, no file
        raise
    # What was just written need not be read back: at 100,000 appointments the id list is
    # 700 kB of JSON, which every later look at the row would otherwise load and parse.
    set_committed_value(broadcast, "recipients", checked.recipients)
    _pipeline().start_broadcast(broadcast.id)
    return broadcast


def _reserve(broadcast: Broadcast, summary) -> None:
    """Let features count the send before it commits (quotas); a refusal is a ComposeError."""
    try:
        signals.broadcast_reserving.send(broadcast, summary=summary)
    except ValueError as exc:
        raise ComposeError(str(exc)) from None


def _secure_options(channel, secure) -> dict | None:
    """The validated secure options of a send (None for an ordinary send); or ComposeError.

    The secure-messages feature checks them (signals.broadcast_checking)."""
    if not secure:
        return None
    try:
        checked = signals.first_answer(signals.broadcast_checking, channel, feature="secure",
                                       options=secure)
    except ValueError as exc:
        raise ComposeError(str(exc)) from None
    if checked is None:
        raise ComposeError("Secure messages are not available.")
    return checked


def _features_took_files(broadcast: Broadcast, features: dict, uploads) -> bool:
    """Let the features of a send prepare the flushed broadcast; True when one of them keeps
    its files (signals.broadcast_preparing)."""
    if not features:
        return False
    return any(signals.answers(signals.broadcast_preparing, broadcast, options=features,
                               uploads=uploads))


def edit_scheduled(broadcast_id: int, *, actor, subject="", body="", send_at=None,
                   outside_window: bool | None = None) -> Broadcast:
    """Change the text or time of a send that has not gone yet, then re-plan its delivery.

    `outside_window` (None: as it was) allows or stops a send in the recipients' quiet hours."""
    broadcast = _changeable(broadcast_id)
    if (broadcast.options or {}).get("secure"):  # its text is sealed; a new send is clearer
        raise ComposeError("A secure send cannot be edited: cancel it and compose it again.")
    kinds = {a.kind for a in files.for_broadcast(broadcast_id)}  # the files stay as they are
    has_audio, has_images = files.AUDIO in kinds, files.IMAGE in kinds
    options = dict(broadcast.options or {})
    if outside_window is not None:
        options.pop("outside_window", None)
        options.update({"outside_window": True} if outside_window else {})
    checked = check(channel=broadcast.channel, recipients=broadcast.recipients, subject=subject,
                    body=body, send_at=send_at, uploads=[], has_audio=has_audio,
                    has_images=has_images, options=options)
    changed = db.session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status.in_(CHANGEABLE),
               Broadcast.send_at > utcnow())
        .values(subject=checked.subject, body=checked.body, send_at=checked.send_at,
                status=_status_for(checked.send_at), total=checked.summary.total,
                options=options)
    ).rowcount
    if not changed:  # it started going while the form was open
        db.session.rollback()
        raise ComposeError("This send has already gone and can no longer be edited.")
    record("broadcast.edited", f"Edited the scheduled send #{broadcast_id}", actor=actor,
           client_id=broadcast.recipients.get("client_id"), data={"broadcast_id": broadcast_id})
    db.session.commit()
    db.session.refresh(broadcast)
    _pipeline().start_broadcast(broadcast_id)
    return broadcast


def cancel_scheduled(broadcast_id: int, actor) -> Broadcast:
    """Stop a send: nothing of it that is still waiting will go out."""
    broadcast = db.session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise ComposeError("There is no such send.")
    if broadcast.status not in STOPPABLE:
        raise ComposeError("This send has already gone and can no longer be cancelled.")
    stopped = _pipeline().cancel_broadcast(broadcast_id, actor=actor)
    record("broadcast.cancelled", f"Cancelled send #{broadcast_id} ({stopped} messages stopped)",
           actor=actor, client_id=broadcast.recipients.get("client_id"),
           data={"broadcast_id": broadcast_id})
    db.session.commit()
    db.session.refresh(broadcast)
    return broadcast


def _changeable(broadcast_id: int) -> Broadcast:
    broadcast = db.session.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise ComposeError("There is no such send.")
    if not is_changeable(broadcast):
        raise ComposeError("This send has already gone and can no longer be edited.")
    return broadcast


def _status_for(send_at: datetime) -> str:
    """Scheduled when it waits for a later time; pending when it goes now."""
    return SCHEDULED if send_at > utcnow() + NOW_WINDOW else PENDING


# ---- validation ------------------------------------------------------------------------


def check(*, channel, recipients, subject="", body="", send_at=None, uploads=(),
          has_audio=False, has_images=False, secure=False, options=None) -> ValidSend:
    """Every rule a send must pass, in the order a person would fix them; raises ComposeError."""
    channel = _channel(channel)
    spec = check_recipients(channel, recipients)
    subject, body = _clean_text(channel, subject, body)
    checked_files = _check_uploads(channel, list(uploads), secure)
    has_audio = has_audio or any(f.kind == files.AUDIO for f in checked_files)
    has_images = has_images or any(f.kind == files.IMAGE for f in checked_files)
    _check_text(channel, subject, body, has_audio, has_images)
    when = check_send_at(send_at)
    summary = _checked_summary(channel, spec, subject, body, when, options or {})
    _check_plan(channel, summary, secure)
    _check_quiet_hours(summary, options or {})
    return ValidSend(channel, spec, subject, body, when, summary, checked_files)


def _checked_summary(channel: Channel, spec: dict, subject: str, body: str,
                     when: datetime, options: dict) -> Summary:
    """The plan's summary for a send being written. Up to COMPOSE_SYNC_PLAN_LIMIT appointments
    every recipient is planned here; a larger mass send is counted in SQL and only its first
    recipients are merged, so the request answers at once and the fan-out job plans the rest
    (skipping, one by one, numbers that cannot take it or texts merged past the ceiling)."""
    ids = spec.get("appointment_ids")
    limit = current_app.config.get("COMPOSE_SYNC_PLAN_LIMIT", SYNC_PLAN_LIMIT)
    if ids is None or len(ids) <= limit:
        return _summary(channel, spec, subject, body, when, keep=0, options=options)
    summary = count_reachable(channel, ids, email_fallback=_fallback(options),
                              per_client=bool(options.get(ONE_PER_CLIENT)))
    if summary.sendable:
        sample = ids[:min(SAMPLE, limit)]
        first = _summary(channel, {"appointment_ids": sample}, subject, body, when, keep=0,
                         options=options)
        summary.longest, summary.longest_body = first.longest, first.longest_body
        summary.worst, summary.worst_body = first.worst, first.worst_body
    return summary


def estimate(*, channel, recipients, subject="", body="", send_at=None, keep=0,
             options=None) -> Summary:
    """The plan of a draft for the live counter and the preview; raises ComposeError."""
    channel = _channel(channel)
    spec = check_recipients(channel, recipients)
    subject, body = _clean_text(channel, subject, body)
    _check_templates(subject, body)
    return _summary(channel, spec, subject, body, check_send_at(send_at), keep=keep,
                    options=options or {})


def _summary(channel: Channel, spec: dict, subject: str, body: str, when: datetime,
             keep: int, options: dict | None = None) -> Summary:
    """One pass over the plan of an unsaved broadcast (never added to the session)."""
    draft = Broadcast(channel=channel.value, subject=subject, body=body, recipients=spec,
                      send_at=when, options=options or {})
    return summarize(plan(draft), keep=keep)


def _fallback(options: dict) -> bool:
    """Whether a text may go by email to a client with no mobile (on for automated sends)."""
    return bool(options.get("email_fallback", "automation" in options))


def _clean_text(channel: Channel, subject: str, body: str) -> tuple[str, str]:
    """Texts use bare line feeds; only an email has a subject, on one line."""
    body = (body or "").replace("\r\n", "\n").replace("\r", "\n")
    subject = " ".join((subject or "").split()) if channel == Channel.EMAIL else ""
    return subject, body


def _channel(value) -> Channel:
    try:
        return Channel(value)
    except ValueError:
        raise ComposeError("Choose how to send: text, picture message, email or call.") from None


def check_recipients(channel: Channel, spec) -> dict:
    """A clean recipients spec (see core.messaging.recipients), or ComposeError."""
    spec = spec or {}
    if "appointment_ids" in spec:
        ids = [int(i) for i in spec["appointment_ids"] or ()]
        if not ids:
            raise ComposeError("No appointments are selected. Tick appointments on the "
                               "Appointments page, or send to one person.")
        if spec.get("mobile"):  # the appointments' text goes to another contact's mobile
            if channel not in (Channel.SMS, Channel.MMS):
                raise ComposeError("Another contact gets a text: choose Text (SMS).")
            return {"appointment_ids": ids, "mobile": _address(channel, str(spec["mobile"]))}
        return {"appointment_ids": ids}
    if spec.get("client_id"):
        if db.session.get(Client, int(spec["client_id"])) is None:
            raise ComposeError("That client no longer exists. Choose another.")
        return {"client_id": int(spec["client_id"])}
    if spec.get("address"):
        return {"address": _address(channel, str(spec["address"]).strip())}
    raise ComposeError("Choose who gets this: a client, a number or email, or the clients of "
                       "the selected appointments.")


def _address(channel: Channel, address: str) -> str:
    """A typed address, normalised for the channel (E.164 or a checked email address)."""
    if channel == Channel.EMAIL:
        try:
            return validate_email(address, check_deliverability=False).normalized
        except EmailNotValidError:
            raise ComposeError(f"“{address}” is not an email address.") from None
    if "@" in address:
        raise ComposeError("Type a phone number to send a text or call, or choose Email.")
    region = current_app.config.get("DEFAULT_REGION", "US")
    try:
        parse = to_e164 if channel == Channel.VOICE else mobile_e164  # a call may ring a landline
        return parse(address, region)
    except PhoneError as exc:
        raise ComposeError(str(exc)) from None


def _check_uploads(channel: Channel, uploads: list, secure: bool = False) -> list[files.Checked]:
    """The uploads a send may carry; a secure text keeps files in the portal, as email does."""
    uploads = [u for u in uploads if u.filename or u.data]
    try:
        if channel == Channel.EMAIL or (secure and channel == Channel.SMS):
            return files.check_files(uploads)
        if channel == Channel.MMS:
            return files.check_images(uploads)
        if channel == Channel.VOICE:
            return files.check_audio(uploads)
    except files.AttachmentError as exc:
        raise ComposeError(str(exc)) from None
    if uploads:
        raise ComposeError("A text message (SMS) cannot carry files: choose Picture message "
                           "for pictures, Email for files, or Send securely to keep them in "
                           "the secure portal.")
    return []


def _check_text(channel: Channel, subject: str, body: str, has_audio: bool, has_images: bool):
    if channel == Channel.EMAIL and not subject:
        raise ComposeError("Write a subject for the email.")
    if channel == Channel.MMS and not has_images:
        raise ComposeError("Attach at least one picture to a picture message, or choose Text.")
    if not body.strip() and not (channel == Channel.VOICE and has_audio):
        if channel == Channel.VOICE:
            raise ComposeError("Write the text to speak, or upload an MP3 or WAV recording.")
        raise ComposeError("Write a message: the text is empty.")
    _check_templates(subject, body)


def _check_templates(subject: str, body: str) -> None:
    try:
        compile_template(subject)
        compile_template(body)
    except TemplateError as exc:
        raise ComposeError(str(exc)) from None


def check_send_at(send_at: datetime | None) -> datetime:
    """When it goes: now, or a future time; a past time (beyond a minute's grace) is refused."""
    now = utcnow()
    if send_at is None:
        return now
    if send_at.tzinfo is None:
        raise ValueError("send_at must be timezone-aware")
    if send_at < now - GRACE:
        raise ComposeError(f"The scheduled time ({local_label(send_at)}) has passed. "
                           "Choose a time in the future, or send now.")
    return max(send_at, now)


def _check_plan(channel: Channel, summary: Summary, secure: bool = False) -> None:
    if summary.total == 0:
        raise ComposeError("There is no one to send to: the selected appointments are gone.")
    # A secure text's content stays in the portal (only the short notice is texted).
    if (not secure and channel in (Channel.SMS, Channel.MMS)
            and summary.longest > MAX_SMS_CHARS):
        raise ComposeError(
            f"The message is {summary.longest:,} characters once merged for the longest "
            f"recipient; a text may be at most {MAX_SMS_CHARS:,}. Shorten it."
        )
    if summary.sendable == 0:
        reasons = ", ".join(f"{reason.lower()}: {n}" for reason, n in summary.skipped.items())
        raise ComposeError(f"No one can receive this ({reasons}). Nothing was sent.")


def _check_quiet_hours(summary: Summary, options: dict) -> None:
    """A one-off send that would reach someone in their quiet hours needs the override."""
    if not summary.held or "automation" in options:
        return
    n = summary.held
    raise ComposeError(
        f"{n:,} recipient{'s are' if n != 1 else ' is'} in quiet hours at that time "
        f"(sending window {window.current().label()}, their time). Tick “Send outside quiet "
        "hours anyway”, or choose a later time.")


# ---- words for people ------------------------------------------------------------------


def local_label(moment: datetime) -> str:
    """'Tue 24 Nov, 2:30 PM' in the business time zone."""
    zone = business_zone()
    return f"{format_date(moment, zone)}, {format_time(moment, zone)}"


def _audit_summary(broadcast: Broadcast, summary: Summary) -> str:
    when = "now" if broadcast.status == PENDING else f"at {local_label(broadcast.send_at)}"
    skipped = summary.total - summary.sendable
    label = CHANNEL_LABELS[broadcast.channel]
    return f"{label} to {summary.sendable} recipient(s), sends {when}; {skipped} skipped"


def to_local(moment: datetime) -> datetime:
    """An aware datetime in the business time zone."""
    return moment.astimezone(business_zone())


# ---- reading sends -----------------------------------------------------------------------


def is_changeable(broadcast: Broadcast) -> bool:
    """True while a scheduled send can still be edited or cancelled."""
    return (
        broadcast.status in CHANGEABLE
        and broadcast.send_at is not None
        and broadcast.send_at > utcnow()
    )


def is_stoppable(broadcast: Broadcast) -> bool:
    """True while some of a send may still be waiting to go."""
    return broadcast.status in STOPPABLE


def scheduled_broadcasts(limit: int = 200) -> list[Broadcast]:
    """Sends waiting for their time, soonest first."""
    query = (
        select(Broadcast)
        .where(Broadcast.status == SCHEDULED, Broadcast.send_at > utcnow())
        .order_by(Broadcast.send_at, Broadcast.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


WAITING = ("queued", "sending", "reconcile")
FINISHED = ("sent", "delivered", "failed", "expired", "skipped", "cancelled")


def progress_of(broadcast: Broadcast) -> dict:
    """The pipeline's counts of one send, shaped for the progress box (and when to stop polling)."""
    raw = _pipeline().progress(broadcast.id) or {}
    count = {key: int(raw.get(key) or 0) for key in (*WAITING, *FINISHED)}
    created = sum(count.values())
    total = max(int(raw.get("total") or broadcast.total or 0), created)
    finished = sum(count[key] for key in FINISHED)
    done = bool(raw.get("done")) or broadcast.status == BroadcastStatus.CANCELLED
    return {
        "queued": total - finished if not done else sum(count[key] for key in WAITING),
        "sent": count["sent"],
        "delivered": count["delivered"],
        "failed": count["failed"] + count["expired"],
        "skipped": count["skipped"],
        "cancelled": count["cancelled"],
        "total": total,
        "finished": finished,
        "percent": round(100 * finished / total) if total else (100 if done else 0),
        "done": done,
    }


def appointment_labels(ids) -> dict[int, str]:
    """"Tue 9 Dec at 9:00 AM (Check-up)" for each appointment id, in one query."""
    if not ids:
        return {}
    zone = business_zone()
    rows = db.session.execute(select(Appointment.id, Appointment.start_at, Appointment.title)
                              .where(Appointment.id.in_(list(ids)))).all()
    return {i: appointment_list(SimpleNamespace(start_at=start, title=title), zone)
            for i, start, title in rows}
