"""Long inbound texts: each part is kept in the database until parts 1..total of its text are
all there, then the text is stored as one inbound message.

A text is known by (provider, sender, reference, total); a part by the provider's id for it, so
a replayed part is stored once, and a part of a text already stored changes nothing. Phones
reuse references (one byte on many networks), so a part whose number is already taken in the
open text with a different id starts a new text: the older one is stored as it stands. Parts
left waiting past PARTIAL_AFTER (the rest never came) are stored by the sweeper as a "partial
message" that says which parts are missing, so nothing a client sent is lost.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.extensions import db
from core.messaging.inbound import accept_inbound
from core.messaging.models import Channel, InboundPart
from core.types import utcnow

log = logging.getLogger(__name__)

PARTS = InboundPart.__table__
PARTIAL_AFTER = timedelta(minutes=15)  # parts normally arrive seconds apart
MAX_PARTS = 255  # the concatenation header's own limit
GAP = "[…]"


def accept_part(*, provider: str, provider_id: str, sender: str, recipient: str, ref: str,
                total: int, part: int, body: str, received_at: datetime | None,
                raw: dict | None = None) -> bool:
    """Keep one part; store the whole text once every part is in. True when this call stored
    a message. Commits."""
    key = {"provider": provider, "sender": sender, "ref": ref, "total": total}
    replay = _stored_part(provider, provider_id)
    if replay is not None:
        if replay.closed:
            return False  # a part of a text already stored (or stored as partial)
        return _assemble(key)
    _close_older_text(key, part, provider_id)
    now = utcnow()
    row = {**key, "provider_id": provider_id, "recipient": recipient, "part": part,
           "body": body, "received_at": received_at or now, "arrived_at": now,
           "raw": {k: v for k, v in (raw or {}).items() if k != "sig"}, "closed": False}
    db.session.execute(_insert_ignoring_replays(), row)
    db.session.commit()
    return _assemble(key)


def is_part(total: int, part: int) -> bool:
    """Whether (total, part) describe a part of a long text we can put together."""
    return 2 <= total <= MAX_PARTS and 1 <= part <= total


def expire_waiting(now: datetime | None = None, wait: timedelta = PARTIAL_AFTER) -> int:
    """Sweeper: store every text whose parts have waited longer than `wait` (whole if the
    last part came after all, else as a partial message); returns how many were stored."""
    now = now or utcnow()
    stale = db.session.execute(
        select(PARTS.c.provider, PARTS.c.sender, PARTS.c.ref, PARTS.c.total)
        .where(PARTS.c.closed.is_(False))
        .group_by(PARTS.c.provider, PARTS.c.sender, PARTS.c.ref, PARTS.c.total)
        .having(func.min(PARTS.c.arrived_at) < now - wait).limit(500)
    ).all()
    db.session.commit()
    stored = 0
    for provider, sender, ref, total in stale:
        key = {"provider": provider, "sender": sender, "ref": ref, "total": total}
        stored += bool(_assemble(key) or _store_partial(key))
    return stored


def _stored_part(provider: str, provider_id: str):
    return db.session.execute(
        select(PARTS.c.id, PARTS.c.closed)
        .where(PARTS.c.provider == provider, PARTS.c.provider_id == provider_id)
    ).first()


def _insert_ignoring_replays():
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(PARTS).on_conflict_do_nothing(index_elements=["provider",
                                                                        "provider_id"])


def _open(key: dict):
    """SQL condition: the parts of the text `key` names that wait for the rest."""
    return and_(*(PARTS.c[name] == value for name, value in key.items()),
                PARTS.c.closed.is_(False))


def _waiting(key: dict) -> list:
    return db.session.execute(
        select(PARTS.c.id, PARTS.c.provider_id, PARTS.c.recipient, PARTS.c.part, PARTS.c.body,
               PARTS.c.received_at, PARTS.c.arrived_at, PARTS.c.raw)
        .where(_open(key)).order_by(PARTS.c.part, PARTS.c.id)
    ).all()


def _close_older_text(key: dict, part: int, provider_id: str) -> None:
    """A reused reference: the open text already has this part number (another id), or has
    waited past PARTIAL_AFTER, so it is an older text, stored as it stands."""
    waiting = _waiting(key)
    taken = any(p.part == part and p.provider_id != provider_id for p in waiting)
    if taken or (waiting and min(p.arrived_at for p in waiting) < utcnow() - PARTIAL_AFTER):
        _store_partial(key)


def _assemble(key: dict) -> bool:
    """Store the text once parts 1..total are all there; True when this call stored it."""
    parts = _waiting(key)
    if sorted({p.part for p in parts}) != list(range(1, key["total"] + 1)):
        db.session.commit()
        return False
    first = {}
    for p in parts:  # should a part come twice under two ids, the first one counts
        first.setdefault(p.part, p)
    ordered = [first[n] for n in range(1, key["total"] + 1)]
    return _store(key, ordered, "".join(p.body for p in ordered), parts)


def _store_partial(key: dict) -> bool:
    """Store what arrived of a text whose other parts never came, saying which are missing."""
    parts = _waiting(key)
    if not parts:
        db.session.commit()
        return False
    first = {}
    for p in parts:
        first.setdefault(p.part, p)
    missing = [n for n in range(1, key["total"] + 1) if n not in first]
    pieces, previous = [], 0
    for n in sorted(first):
        if n != previous + 1:
            pieces.append(GAP)
        pieces.append(first[n].body)
        previous = n
    if previous != key["total"]:
        pieces.append(GAP)
    which = ", ".join(str(n) for n in missing)
    note = f"\n(Partial message: part{'s' if len(missing) > 1 else ''} {which} of " \
           f"{key['total']} never arrived.)"
    log.info("inbound text from %s (ref %s) stored without parts %s", key["sender"],
             key["ref"], which)
    return _store(key, [first[n] for n in sorted(first)], "".join(pieces) + note, parts)


def _store(key: dict, ordered: list, body: str, close: list | None = None) -> bool:
    """Store the message (idempotent on the first part's id), then close its parts."""
    head = ordered[0]
    raw = {"concat-ref": key["ref"], "concat-total": key["total"],
           "parts": [p.raw for p in ordered]}
    message, created = accept_inbound(
        provider=key["provider"], provider_id=head.provider_id, from_addr=key["sender"],
        to_addr=head.recipient, body=body, channel=Channel.SMS,
        received_at=head.received_at, raw=raw)
    ids = [p.id for p in (close or ordered)]
    db.session.execute(update(PARTS).where(PARTS.c.id.in_(ids))
                       .values(closed=True, message_id=message.id))
    db.session.commit()
    return created
