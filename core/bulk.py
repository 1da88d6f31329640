"""Bulk writes and id lists that stay fast at 100,000 rows on both databases.

On PostgreSQL a chunk of rows goes in with `COPY` (ids taken from the sequence first, so each
row's id is known without RETURNING), and a list of ids travels as one array parameter
(`= ANY(…)`), so the driver never parses thousands of placeholders. SQLite gets the driver's
plain executemany and IN lists.
"""

from sqlalchemy import ARRAY, Table, any_, bindparam, cast, func, insert, select

from core.extensions import db


def is_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def id_in(column, ids):
    """SQL: `column` is one of `ids` (one array parameter on PostgreSQL)."""
    ids = list(ids)
    if is_postgresql():
        return column == any_(_array(None, ids, column.type))
    return column.in_(ids)


def insert_rows(table: Table, rows: list[dict], *, with_ids: bool = False) -> list[int]:
    """Insert `rows` (dicts with the same keys) in one statement; with_ids returns their new
    ids in the order of `rows` (on PostgreSQL taken from the sequence beforehand)."""
    if not rows:
        return []
    missing = [column.name for column in table.c
               if column.name not in rows[0] and column.default is not None
               and not column.default.is_scalar]
    if missing:  # COPY cannot run a Python default for each row: the caller gives the value
        raise ValueError(f"insert_rows into {table.name} needs values for {', '.join(missing)}")
    if not is_postgresql():
        db.session.execute(insert(table), rows)  # the driver's executemany: one C loop
        if not with_ids:
            return []
        # SQLite numbers new rows max(id) + 1, one after another, and the insert holds the
        # only write lock until commit, so this chunk's rows are the last len(rows) ids.
        # (RETURNING in row order would make SQLAlchemy insert one row per statement.)
        last = db.session.scalar(select(func.max(table.c.id)))
        return list(range(last - len(rows) + 1, last + 1))
    names = list(rows[0])
    ids: list[int] = []
    if with_ids:
        sequence = func.pg_get_serial_sequence(table.name, "id")
        ids = list(db.session.scalars(
            select(func.nextval(sequence)).select_from(func.generate_series(1, len(rows)))
        ))
    _copy(table, names, rows, ids)
    return ids


def _copy(table: Table, names: list[str], rows: list[dict], ids: list[int]) -> None:
    """COPY `rows` into `table` on the session's connection (inside its transaction), with the
    columns' bind conversions and scalar defaults applied as an INSERT would."""
    dialect = db.session.get_bind().dialect
    defaults = {column.name: column.default.arg for column in table.c
                if column.name not in names and column.name != "id"
                and column.default is not None and column.default.is_scalar}
    columns = ([table.c.id] if ids else []) + [table.c[name] for name in [*names, *defaults]]
    convert = [column.type._cached_bind_processor(dialect) for column in columns]
    fixed = list(defaults.values())
    quoted = ", ".join(dialect.identifier_preparer.quote(column.name) for column in columns)
    connection = db.session.connection()
    statement = f"COPY {dialect.identifier_preparer.format_table(table)} ({quoted}) FROM STDIN"
    with connection.connection.driver_connection.cursor() as cursor, cursor.copy(
            statement) as copy:
        # Statement listeners (tracing, query counters) see the COPY like any other statement.
        connection.dispatch.before_cursor_execute(connection, cursor, statement, None, None,
                                                  True)
        for n, row in enumerate(rows):
            values = ([ids[n]] if ids else []) + [row[name] for name in names] + fixed
            copy.write_row([f(v) if f else v for f, v in zip(convert, values, strict=True)])


def _array(name: str | None, values: list, item_type):
    """One bound array of `item_type` (typed in the SQL, so an all-NULL array works too)."""
    return cast(bindparam(name, values, type_=ARRAY(item_type)), ARRAY(item_type))
