"""Keyset pagination: pages of a sorted query, linked by opaque cursors instead of OFFSET."""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, tuple_

from core.extensions import db


@dataclass
class Page:
    """One page of rows with cursors to the pages after and before it (None at either end)."""

    rows: list
    next_cursor: str | None
    prev_cursor: str | None


def encode(values: Sequence) -> str:
    """An opaque, URL-safe cursor for a row's sort key."""
    plain = [v.isoformat() if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str | None, types: Sequence[Callable]) -> tuple | None:
    """The sort key in a cursor, or None when the cursor is absent or was tampered with."""
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != len(types):
            return None
        return tuple(kind(value) for kind, value in zip(types, values, strict=True))
    except (binascii.Error, ValueError, TypeError):
        return None


def keyset(query: Select, keys: Sequence, key_of: Callable, *, after: tuple | None,
           before: tuple | None, size: int) -> Page:
    """Fetch one page of `query` sorted ascending on `keys` (the last key must be unique)."""
    if before is not None:
        stmt = query.where(tuple_(*keys) < before).order_by(*(k.desc() for k in keys))
        rows = list(db.session.scalars(stmt.limit(size + 1)).unique())
        more_before = len(rows) > size
        rows = list(reversed(rows[:size]))
        more_after = True
    else:
        stmt = query.order_by(*keys)
        if after is not None:
            stmt = stmt.where(tuple_(*keys) > after)
        rows = list(db.session.scalars(stmt.limit(size + 1)).unique())
        more_after = len(rows) > size
        rows = rows[:size]
        more_before = after is not None
    if not rows:
        # Nothing beyond the cursor (rows were deleted meanwhile): the page offers "first page".
        return Page([], None, None)
    return Page(
        rows,
        encode(key_of(rows[-1])) if more_after else None,
        encode(key_of(rows[0])) if more_before else None,
    )
