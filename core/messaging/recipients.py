"""Who a broadcast reaches: one Planned row per recipient, rendered, or skipped with a reason.

`Broadcast.recipients` is one of
    {"appointment_ids": [1, 2, ...]}   the clients of these appointments, one message each
                                       (one per client when the options say ONE_PER_CLIENT);
                                       with "mobile": "+1555…", at that number instead (another
                                       contact of the client: its own opt-out and zone apply)
    {"client_id": 7}                   one client
    {"address": "+15551234567"}        someone with no record (a number or an email address)
The fan-out job and the compose preview both call `plan()`, so what the preview shows is what
goes out. Appointments are read in chunks of plain column rows, never all at once.
"""

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

import phonenumbers
from sqlalchemy import Integer, false, func, or_, select, true

from core import phones
from core.appointments.models import Appointment
from core.bulk import int_array, is_postgresql
from core.clients.models import Client, ContactMethod
from core.extensions import db
from core.messaging import segments, window
from core.messaging.models import Channel
from core.messaging.templating import business_values, business_zone, compile_template, context_for
from core.types import utcnow

CHUNK = 10_000  # appointments per query (one fan-out chunk)
RENDER_CACHE = 50_000  # distinct merged texts kept per plan (a few MB at most)
SKIP_OPTED_OUT = "Opted out"
SKIP_NO_CONSENT = "no marketing consent"
MARKETING = "marketing"  # Category.MARKETING: consent and the strict window apply
SKIP_DO_NOT_CONTACT = "Do Not Contact"
SKIP_NO_MOBILE = "No mobile number"
SKIP_NO_EMAIL = "No email address"
SKIP_INVALID_NUMBER = "Invalid number"
SKIP_LANDLINE = "Landline cannot receive texts"
SKIP_DUPLICATE = "Duplicate"
SKIP_TOO_LONG = "Too long once merged"
DEFAULT_SUBJECT = "Message from {{ business_name }}"  # an email sent in place of a text
QUIET_HELD, QUIET_OUTSIDE = "held", "outside"
PHONE_CHANNELS = {Channel.SMS, Channel.MMS, Channel.VOICE}
# Broadcast option: a client with several selected appointments gets one message, merged with
# the earliest of them; `{{ appointments }}` lists them all. Without it: one per appointment.
ONE_PER_CLIENT = "one_per_client"
TEXT_CHANNELS = {Channel.SMS, Channel.MMS}


@dataclass(frozen=True, slots=True)
class Planned:
    """One message the broadcast will send, or a recipient it skips (skip_reason set)."""

    client_id: int | None
    appointment_id: int | None
    channel: str
    to_addr: str
    subject: str
    body: str
    skip_reason: str | None
    send_at: datetime
    zone: str = ""  # the recipient's time zone (texts and calls)
    quiet: str = ""  # QUIET_HELD: waits for the sending window; QUIET_OUTSIDE: goes anyway
    merged: tuple = ()  # ONE_PER_CLIENT: the ids of every appointment this message stands for


class Recipient(NamedTuple):
    """What planning needs of one client and (optionally) one appointment."""

    client_id: int | None
    first_name: str
    last_name: str
    company: str
    mobile: str | None
    email: str | None
    contact_method: str
    opted_out: bool
    mobile_kind: str | None = None  # stored with the number; None: work it out
    timezone: str | None = None
    marketing_consent: bool = False
    appointment_id: int | None = None
    start_at: datetime | None = None
    staff: str = ""
    location: str = ""
    title: str = ""
    job_number: str | None = None
    confirmation_code: int | None = None
    appointments: tuple = ()  # ONE_PER_CLIENT: (start_at, title) of each, earliest first
    merged_ids: tuple = ()  # and their ids


_CLIENT_COLUMNS = (
    Client.id.label("client_id"),
    Client.first_name,
    Client.last_name,
    Client.company,
    Client.mobile,
    Client.email,
    Client.contact_method,
    Client.opted_out,
    Client.mobile_kind,
    Client.timezone,
    Client.marketing_consent,
)
_APPOINTMENT_COLUMNS = (
    Appointment.id.label("appointment_id"),
    Appointment.start_at,
    Appointment.staff,
    Appointment.location,
    Appointment.title,
    Appointment.job_number,
    Appointment.confirmation_code,
)


def plan(broadcast, now: datetime | None = None) -> Iterator[Planned]:
    """Every recipient of `broadcast` in order, with the rendered text or why it is skipped.

    The client's contact method picks each row's channel (`route`), and a text or call that
    would reach someone in their quiet hours waits for their window (`Timing`)."""
    channel = Channel(broadcast.channel)
    options = broadcast.options or {}
    fallback = bool(options.get("email_fallback", "automation" in options))
    marketing = options.get("category") == MARKETING
    body = compile_template(broadcast.body)
    subject = compile_template(broadcast.subject or DEFAULT_SUBJECT)
    zone, business = business_zone(), business_values()
    fields = tuple(body.fields | subject.fields)  # only these are computed for each recipient
    timing = Timing(broadcast, zone, now or utcnow())
    seen: set[tuple] = set()
    rendered: dict[tuple, tuple[str, str]] = {}
    per_client = bool(options.get(ONE_PER_CLIENT))
    for person in recipients_of(broadcast.recipients or {}, per_client):
        goes_by = route(channel, person, fallback)
        to_addr, reason = resolve_address(goes_by, person)
        if reason is None and marketing and not person.marketing_consent:
            reason = SKIP_NO_CONSENT
        context = context_for(person, person, zone=zone, business=business, fields=fields)
        # Recipients with the same values get the same text: "Hi Anna" is rendered once.
        key = tuple(context.values())
        texts = rendered.get(key)
        if texts is None:
            texts = (subject.render(context), body.render(context))
            if len(rendered) < RENDER_CACHE:
                rendered[key] = texts
        title, text = texts
        title = title if goes_by == Channel.EMAIL else ""
        if reason is None and goes_by in TEXT_CHANNELS and len(text) > segments.MAX_SMS_CHARS:
            reason = SKIP_TOO_LONG  # compose refuses this up front; a mass send skips the one
        if reason is None:
            reason = _duplicate(seen, person, to_addr, title, text)
        send_at, quiet, their_zone = timing.of(goes_by, person, reason)
        yield Planned(
            person.client_id, person.appointment_id, goes_by.value, to_addr, title, text,
            reason, send_at, their_zone, quiet, person.merged_ids,
        )


def route(channel: Channel, person: Recipient, email_fallback: bool = False) -> Channel:
    """The channel one recipient gets: a text goes by email to a client whose contact method
    is Email, or who has no mobile when the send allows email instead (`email_fallback`)."""
    if channel != Channel.SMS or not person.email or person.client_id is None:
        return channel
    if person.contact_method == ContactMethod.EMAIL:
        return Channel.EMAIL
    if email_fallback and not person.mobile:
        return Channel.EMAIL
    return channel


class Timing:
    """When each recipient's message goes: the broadcast's time, or, for a text or call that
    falls in the recipient's quiet hours, the start of their window. A broadcast whose
    options say `outside_window` goes at its time anyway (the row is marked "outside"), unless
    it is marketing: that keeps the marketing window strictly (window.marketing())."""

    def __init__(self, broadcast, zone, now: datetime):
        self.send_at = broadcast.send_at if broadcast.send_at and broadcast.send_at > now else now
        options = broadcast.options or {}
        marketing = options.get("category") == MARKETING
        self.override = bool(options.get("outside_window")) and not marketing
        self.window = window.marketing() if marketing else window.current()
        self.zone = zone
        self.by_zone: dict = {}  # one answer per zone: every row has the same send_at

    def of(self, channel: Channel, person: Recipient, reason: str | None):
        """(send_at, quiet, zone name): quiet is "", "held" or "outside"."""
        if reason is not None or channel not in PHONE_CHANNELS:
            return self.send_at, "", ""
        zone = window.zone_for(person.timezone, person.mobile, self.zone)
        answer = self.by_zone.get(zone)
        if answer is None:
            answer = self.by_zone[zone] = self._in(zone)
        return answer

    def _in(self, zone):
        if self.window.is_open(self.send_at, zone):
            return self.send_at, "", zone.key
        if self.override:
            return self.send_at, QUIET_OUTSIDE, zone.key
        return self.window.next_open(self.send_at, zone), QUIET_HELD, zone.key


def recipients_of(spec: dict, per_client: bool = False) -> Iterator[Recipient]:
    """The people a recipients spec names, streamed (`per_client`: see ONE_PER_CLIENT)."""
    if "appointment_ids" in spec:
        people = (_client_recipients if per_client else _appointment_recipients)(
            spec["appointment_ids"])
        yield from _at_mobile(people, spec["mobile"]) if spec.get("mobile") else people
    elif spec.get("client_id") is not None:
        row = db.session.execute(
            select(*_CLIENT_COLUMNS).where(Client.id == int(spec["client_id"]))
        ).first()
        if row is not None:
            yield Recipient(*row)
    elif spec.get("address"):
        yield _address_recipient(str(spec["address"]).strip())


def _at_mobile(people: Iterator[Recipient], mobile: str) -> Iterator[Recipient]:
    """The recipients reached at another contact's mobile: by text there, with that number's
    opt-out (STOP from it, as any client's with it) and its zone, whatever the client's own."""
    opted_out = bool(db.session.scalar(select(Client.id).where(
        Client.mobile == mobile, Client.opted_out.is_(True)).limit(1)))
    for person in people:
        method = person.contact_method
        yield person._replace(
            mobile=mobile, mobile_kind=None, timezone=None, opted_out=opted_out,
            contact_method=ContactMethod.TEXT.value if method == ContactMethod.EMAIL else method)


def _appointment_recipients(ids: Iterable[int]) -> Iterator[Recipient]:
    """Clients of the given appointments in the given order, CHUNK appointments per query."""
    ids = list(dict.fromkeys(int(i) for i in ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        by_id = {row.appointment_id: row for row in _recipient_rows(chunk)}
        for appointment_id in chunk:
            row = by_id.get(appointment_id)
            if row is not None:
                yield Recipient(*row)


def _client_recipients(ids: Iterable[int]) -> Iterator[Recipient]:
    """One recipient per client, in the order of the selection: their earliest selected
    appointment, carrying every selected one (three small columns of each are read first)."""
    ids = list(dict.fromkeys(int(i) for i in ids))
    visits: dict[int, list] = {}
    columns = (Appointment.client_id, Appointment.start_at, Appointment.id, Appointment.title)
    for among in _id_groups(ids):
        for client_id, *visit in db.session.execute(
                select(*columns).join(among, Appointment.id == among.c.id)):
            visits.setdefault(client_id, []).append(tuple(visit))
    leads = {}
    for theirs in visits.values():
        theirs.sort()
        leads[theirs[0][1]] = theirs
    for person in _appointment_recipients(i for i in ids if i in leads):
        theirs = leads[person.appointment_id]
        yield person._replace(appointments=tuple((start, title) for start, _, title in theirs),
                              merged_ids=tuple(i for _, i, _ in theirs))


def _recipient_rows(chunk: list[int]) -> list:
    """The client and appointment columns of these appointments (up to CHUNK of them)."""
    people = select(*_CLIENT_COLUMNS, *_APPOINTMENT_COLUMNS).join(
        Client, Appointment.client_id == Client.id)
    if not is_postgresql():
        return db.session.execute(people.where(Appointment.id.in_(chunk))).all()
    # Each id looks its row up by primary key (LATERAL): the plan stays two index probes per
    # id even before the tables have statistics (a hash join of both tables otherwise).
    among = func.unnest(int_array(chunk, Integer)).table_valued("id").render_derived("among")
    person = people.where(Appointment.id == among.c.id).lateral("person")
    return db.session.execute(select(person).select_from(among).join(person, true())).all()


def _address_recipient(address: str) -> Recipient:
    """A typed number or email; a client with that address is used, so opt-outs still hold."""
    is_email = "@" in address
    value = address.lower() if is_email else _e164_or_raw(address)
    match = func.lower(Client.email) == value if is_email else Client.mobile == value
    row = db.session.execute(
        select(*_CLIENT_COLUMNS).where(match).order_by(Client.id).limit(1)
    ).first()
    if row is not None:
        return Recipient(*row)
    return Recipient(
        None, "", "", "", None if is_email else value, value if is_email else None,
        ContactMethod.TEXT.value, False,
    )


def _e164_or_raw(text: str) -> str:
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else "US")
    except phonenumbers.NumberParseException:
        return text
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def resolve_address(channel: Channel, person: Recipient) -> tuple[str, str | None]:
    """Where the message goes on `channel`, or the reason it cannot go there."""
    if person.contact_method == ContactMethod.DO_NOT_CONTACT:
        return person.mobile or person.email or "", SKIP_DO_NOT_CONTACT
    if channel == Channel.EMAIL:
        return (person.email, None) if person.email else ("", SKIP_NO_EMAIL)
    if person.opted_out:  # STOP applies to everything sent to the phone
        return person.mobile or "", SKIP_OPTED_OUT
    if not person.mobile:
        return "", SKIP_NO_MOBILE
    kind = person.mobile_kind or phones.kind(person.mobile)
    if kind == "invalid":
        return person.mobile, SKIP_INVALID_NUMBER
    if kind == "landline" and channel in TEXT_CHANNELS:
        return person.mobile, SKIP_LANDLINE
    return person.mobile, None


def _duplicate(seen: set[tuple], person: Recipient, to_addr: str, subject: str, body: str):
    """SKIP_DUPLICATE for a second identical message to the same person in one broadcast."""
    # A hash of the text keeps memory flat on big sends; a false match would need two
    # different texts to the same person with colliding 64-bit hashes.
    key = (person.client_id if person.client_id is not None else to_addr, hash((subject, body)))
    if key in seen:
        return SKIP_DUPLICATE
    seen.add(key)
    return None


# ---- a summary of a plan: the preview table, the counter, the 1,600 check ------------------


@lru_cache(maxsize=4096)
def _gsm_basic_count(length: int) -> segments.SegmentInfo:
    return segments.count("a" * length)


def segment_info(text: str) -> segments.SegmentInfo:
    """segments.count(text), with a fast path for the common plain-GSM text."""
    if segments.GSM7_BASIC.issuperset(text):
        return _gsm_basic_count(len(text))  # depends on the length alone
    return segments.count(text)


@dataclass
class Summary:
    """What a plan amounts to, computed in one pass over it."""

    rows: list[Planned] = field(default_factory=list)  # the first `keep` rows
    total: int = 0
    sendable: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> how many
    total_segments: int = 0
    worst: segments.SegmentInfo | None = None  # the recipient with the most segments
    worst_body: str = ""
    longest: int = 0  # characters of the longest rendered text
    longest_body: str = ""
    held: int = 0  # texts and calls that wait for the recipient's sending window
    outside: int = 0  # texts and calls that go in quiet hours (the send overrides them)
    channels: Counter = field(default_factory=Counter)  # channel -> messages that go by it

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


def summarize(planned: Iterable[Planned], keep: int = 200) -> Summary:
    """Count, measure and keep the first `keep` rows of a plan."""
    summary = Summary()
    for row in planned:
        summary.total += 1
        if len(summary.rows) < keep:
            summary.rows.append(row)
        # A text merged past the ceiling is measured like the rest: compose refuses the whole
        # send for it (only the fan-out of a large send skips such a recipient alone).
        if row.skip_reason and row.skip_reason != SKIP_TOO_LONG:
            summary.skipped[row.skip_reason] += 1
            continue
        summary.sendable += 1
        summary.channels[row.channel] += 1
        summary.held += row.quiet == QUIET_HELD
        summary.outside += row.quiet == QUIET_OUTSIDE
        if len(row.body) > summary.longest or not summary.longest_body:
            summary.longest, summary.longest_body = len(row.body), row.body
        if row.channel in TEXT_CHANNELS:
            _measure(summary, row.body)
    return summary


def _measure(summary: Summary, body: str) -> None:
    info = segment_info(body)
    summary.total_segments += info.segments
    worst = summary.worst
    if worst is None or (info.segments, info.units) > (worst.segments, worst.units):
        summary.worst, summary.worst_body = info, body


def count_reachable(channel: Channel, appointment_ids: list[int],
                    email_fallback: bool = False, per_client: bool = False) -> Summary:
    """A mass send's counts straight from SQL, without merging a text or checking a number:
    total recipients, and those skipped for Do Not Contact, opt-out or a missing address;
    `per_client` counts each client once, as ONE_PER_CLIENT plans them.
    (Invalid numbers, landlines, duplicates and over-long texts are found by the fan-out.)"""
    summary = Summary()
    dnc = Client.contact_method == ContactMethod.DO_NOT_CONTACT.value
    by_email = _goes_by_email(channel, email_fallback)
    no_address = Client.email if channel == Channel.EMAIL else Client.mobile
    # An opt-out is a STOP to texts and calls; email still goes.
    opted_out = false() if channel == Channel.EMAIL else (
        Client.opted_out.is_(True) & ~dnc & ~by_email)
    missing = (func.coalesce(no_address, "") == "") & ~dnc & ~opted_out & ~by_email
    columns = (func.count(), func.count().filter(dnc), func.count().filter(opted_out),
               func.count().filter(missing))
    ids = list(dict.fromkeys(int(i) for i in appointment_ids))
    reasons = (SKIP_DO_NOT_CONTACT, SKIP_OPTED_OUT,
               SKIP_NO_EMAIL if channel == Channel.EMAIL else SKIP_NO_MOBILE)
    if per_client:
        # Each client once by count(DISTINCT) over the appointments' join. (A DISTINCT
        # subquery made PostgreSQL guess 200 clients without fresh statistics and probe the
        # clients' index 100,000 times: 210 ms at 100,000, this 70 ms either way; SQLite
        # gathered the client ids in Python, 650 ms, this 40 ms.)
        distinct = func.count(Client.id.distinct())
        columns = (distinct, distinct.filter(dnc), distinct.filter(opted_out),
                   distinct.filter(missing))
    for among in _id_groups(ids):
        query = (select(*columns).select_from(among)
                 .join(Appointment, Appointment.id == among.c.id)
                 .join(Client, Appointment.client_id == Client.id))
        row = db.session.execute(query).one()
        summary.total += row[0]
        for reason, n in zip(reasons, row[1:], strict=True):
            if n:
                summary.skipped[reason] += n
    summary.sendable = summary.total - sum(summary.skipped.values())
    return summary


def _goes_by_email(channel: Channel, email_fallback: bool):
    """SQL for `route`: the clients a text reaches by email instead."""
    if channel != Channel.SMS:
        return false()
    has_email = func.coalesce(Client.email, "") != ""
    wants = Client.contact_method == ContactMethod.EMAIL.value
    if email_fallback:
        wants = wants | (func.coalesce(Client.mobile, "") == "")
    return has_email & wants


def _id_groups(ids: list[int]):
    """The table of `ids` (column `id`), as one bound value: `unnest(array)` on PostgreSQL,
    `json_each(text)` on SQLite (no cap on bound values, each id probes the primary key).
    A generator of one, for callers written for groups."""
    if is_postgresql():
        yield select(func.unnest(int_array(ids, Integer)).label("id")).subquery()
        return
    among = func.json_each("[" + ",".join(map(str, map(int, ids))) + "]").table_valued("value")
    yield select(among.c.value.label("id")).subquery()


# ---- words for people --------------------------------------------------------------------


def client_names(client_ids) -> dict[int, str]:
    """"First Last" for each client id, in one query (none when there are no ids)."""
    if not client_ids:
        return {}
    return dict(db.session.execute(
        select(Client.id, Client.first_name + " " + Client.last_name)
        .where(Client.id.in_(client_ids))
    ).all())


def describe_many(specs: list[dict]) -> list[str]:
    """'Clients of 3 appointments', a client's name, or the typed address, for each spec."""
    names = client_names({int(s["client_id"]) for s in specs if s.get("client_id")})
    return [_describe(spec or {}, names) for spec in specs]


def describe_recipients(spec: dict) -> str:
    """Who one recipients spec names, in words."""
    return describe_many([spec])[0]


def _describe(spec: dict, names: dict[int, str]) -> str:
    if "appointment_ids" in spec:
        n = len(spec["appointment_ids"] or ())
        return f"Clients of {n:,} appointment{'s' if n != 1 else ''}"
    if spec.get("client_id"):
        return names.get(int(spec["client_id"]), "A deleted client").strip()
    return str(spec.get("address") or "No one")


def find_clients(text: str, limit: int = 10) -> list[Client]:
    """Clients whose name, company, mobile or email matches `text` (the compose picker)."""
    from core.clients.operations import search_condition

    condition = or_(search_condition(text), Client.email.icontains(text, autoescape=True))
    query = select(Client).where(condition).order_by(Client.last_name, Client.first_name)
    return list(db.session.scalars(query.limit(limit)))
