"""Bulk writes and id lists that stay fast at 100,000 rows on both databases.

On PostgreSQL a chunk of rows goes in with `COPY` (ids taken from the sequence first, so each
row's id is known without RETURNING), and a list of ids travels as one array parameter
(`= ANY(…)`), so the driver never parses thousands of placeholders. SQLite gets the driver's
plain executemany and IN lists.

Rows are tuples of values already in the database's form (`bound()` converts a value, e.g. an
aware datetime to the stored naive UTC): a fan-out's datetimes are a handful of values, so
converting each once beats running the column's converter for every row. `prepare()` does
the Python work (ids, COPY's text) and `insert_prepared()` only sends it, so a writer thread
holds the GIL for a moment per chunk rather than for every row.
"""

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from psycopg.copy import Copy, FileWriter
from sqlalchemy import ARRAY, String, Table, any_, bindparam, cast, func, select, text
from sqlalchemy.exc import OperationalError

from core.extensions import db

log = logging.getLogger(__name__)
ANALYZE_LOCK_TIMEOUT = "2s"  # another ANALYZE or VACUUM of the table: leave it to that one


def is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def id_in(column, ids):
    """SQL: `column` is one of `ids` (one array parameter on PostgreSQL)."""
    ids = list(ids)
    if is_postgresql():
        array = ARRAY(column.type)
        return column == any_(cast(bindparam(None, ids, type_=array), array))
    return column.in_(ids)


def int_array(ids: Sequence[int], item_type):
    """One bound array of integers sent as its text ('{1,2,3}'), cast by PostgreSQL: the
    driver's list adapter takes ~3 µs an element, the join a tenth of that. Use it only as a
    FROM item (`unnest(…)`), which is evaluated once; in a WHERE filter PostgreSQL would parse
    the text again for every row it tests."""
    text = "{" + ",".join(map(str, map(int, ids))) + "}"
    return cast(bindparam(None, text, type_=String), ARRAY(item_type))


def bound(table: Table, name: str, value):
    """`value` in the form a row of tuples carries it (the column's bind conversion; on
    PostgreSQL a datetime as its text, which COPY takes as is and formats no faster)."""
    process = table.c[name].type._cached_bind_processor(db.session.get_bind().dialect)
    value = process(value) if process else value
    return value.isoformat(" ") if isinstance(value, datetime) and is_postgresql() else value


@dataclass(frozen=True)
class Prepared:
    """Rows ready to insert: on PostgreSQL their ids already taken and their COPY data
    formatted, so another thread can send them with almost no Python work."""

    table: Table
    names: tuple[str, ...]
    rows: list[tuple] | None  # SQLite: the rows, defaults appended
    data: bytes | None  # PostgreSQL: the COPY data
    ids: list[int] | None  # PostgreSQL: the rows' ids, when asked for
    count: int


def prepare(table: Table, names: Sequence[str], rows: list[tuple], *,
            with_ids: bool = False) -> Prepared:
    """Make `rows` (tuples of bound values for `names`) ready for insert_prepared()."""
    names, fixed = _with_defaults(table, list(names))
    if fixed:
        rows = [row + fixed for row in rows]
    if not is_postgresql():
        return Prepared(table, tuple(names), rows, None, None, len(rows))
    ids = _take_ids(table, len(rows)) if with_ids and rows else None
    if ids is not None:
        names, rows = ["id", *names], [(i, *row) for i, row in zip(ids, rows, strict=True)]
    return Prepared(table, tuple(names), None, _copy_data(rows), ids, len(rows))


def insert_prepared(prepared: Prepared) -> list[int]:
    """Insert prepared rows in one statement of the session's transaction; returns their ids
    in row order (empty unless prepared with_ids)."""
    if not prepared.count:
        return []
    if prepared.data is not None:
        _copy(prepared.table, prepared.names, prepared.data)
        return prepared.ids or []
    return _executemany(prepared.table, prepared.names, prepared.rows)


def _take_ids(table: Table, n: int) -> list[int]:
    """n new ids from the table's sequence, as one text value (not n rows to fetch)."""
    sequence = func.pg_get_serial_sequence(table.name, "id")
    text = db.session.scalar(
        select(func.array_to_string(func.array_agg(func.nextval(sequence)), ","))
        .select_from(func.generate_series(1, n))
    )
    return [int(i) for i in text.split(",")]


def _with_defaults(table: Table, names: list[str]) -> tuple[list[str], tuple]:
    """`names` plus the columns left out that have a scalar default, and those defaults bound
    (neither COPY nor a plain executemany runs SQLAlchemy's defaults)."""
    missing = [column.name for column in table.c
               if column.name not in names and column.default is not None
               and not column.default.is_scalar]
    if missing:  # a Python default computed for each row: the caller gives the value
        raise ValueError(f"insert into {table.name} needs values for {', '.join(missing)}")
    defaults = {column.name: column.default.arg for column in table.c
                if column.name not in names and column.name != "id"
                and column.default is not None}
    return [*names, *defaults], tuple(bound(table, k, v) for k, v in defaults.items())


def _executemany(table: Table, names: tuple[str, ...], rows: list[tuple]) -> list[int]:
    """SQLite: the driver's executemany (one C loop); the ids worked out from max(id)."""
    preparer = db.session.get_bind().dialect.identifier_preparer
    columns = ", ".join(preparer.quote(name) for name in names)
    db.session.connection().exec_driver_sql(
        f"INSERT INTO {preparer.format_table(table)} ({columns}) "
        f"VALUES ({', '.join('?' * len(names))})", rows)
    # SQLite numbers new rows max(id) + 1, one after another, and the insert holds the
    # only write lock until commit, so these rows are the last len(rows) ids.
    last = db.session.scalar(select(func.max(table.c.id)))
    return list(range(last - len(rows) + 1, last + 1))


def _copy_data(rows: list[tuple]) -> bytes:
    """COPY's text format of `rows`, made by the driver's own formatter (nothing is sent)."""
    data = io.BytesIO()
    cursor = db.session.connection().connection.driver_connection.cursor()
    with cursor, Copy(cursor, binary=False, writer=FileWriter(data)) as copy:
        for row in rows:
            copy.write_row(row)
    return data.getvalue()


def _copy(table: Table, names: tuple[str, ...], data: bytes) -> None:
    """COPY formatted `data` into `table` on the session's connection (in its transaction)."""
    preparer = db.session.get_bind().dialect.identifier_preparer
    quoted = ", ".join(preparer.quote(name) for name in names)
    connection = db.session.connection()
    statement = f"COPY {preparer.format_table(table)} ({quoted}) FROM STDIN"
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(
            statement) as copy:
        # Statement listeners (tracing, query counters) see the COPY like any other statement.
        connection.dispatch.before_cursor_execute(connection, cursor, statement, None, None,
                                                  True)
        copy.write(data)


def analyze_after_bulk(table: Table, rows: int, threshold: int) -> bool:
    """ANALYZE `table` on PostgreSQL when a bulk write added at least `threshold` rows; True
    when it ran.

    Without statistics that know the new rows (a table that was small, or autovacuum late),
    PostgreSQL plans the Outbox for a handful of rows: a bitmap scan and a sort of every
    message instead of walking an index to the first page (0.1-1 s at 100,000-1,000,000
    rows). ANALYZE reads a sample (30,000 rows) and never blocks reads or writes; it waits at
    most ANALYZE_LOCK_TIMEOUT for another ANALYZE or VACUUM of the table, else leaves it."""
    if rows < threshold or not threshold or not is_postgresql():
        return False
    preparer = db.session.get_bind().dialect.identifier_preparer
    try:
        db.session.execute(text(f"SET LOCAL lock_timeout = '{ANALYZE_LOCK_TIMEOUT}'"))
        db.session.execute(text(f"ANALYZE {preparer.format_table(table)}"))
        db.session.commit()
    except OperationalError:
        db.session.rollback()
        log.info("ANALYZE %s skipped: the table is being vacuumed or analyzed", table.name)
        return False
    log.info("ANALYZE %s after %d new rows", table.name, rows)
    return True
