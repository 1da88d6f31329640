"""usage_rollup: messages, cost and delivery counts per hour × direction × channel × category,
kept by database triggers on messages (every insert, status or price change, delete), so the
usage page sums a few thousand rows instead of scanning the messages; backfilled here. Also
ix_messages_unread_inbound: the unread-texts badge on every page (the usage page included)
counted through every inbound message (100 ms at 100,000 of them).

PostgreSQL: statement-level triggers with transition tables append one row per key and
statement (COPY included), never updating a shared row, so concurrent senders never wait on
each other; a periodic job (core.usage.rollup.compact) folds those rows into one "compacted"
row per key. SQLite (one writer at a time): row-level triggers add to the compacted row. The
same job folds the hours of days older than two days into one row per local day (grain "day",
its hour the day's first instant), so a year is a few thousand rows.

Revision ID: 0022_usage_rollup
Revises: 0020_merge
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_usage_rollup"
down_revision = "0020_merge"
branch_labels = None
depends_on = None

KEY = ("hour", "direction", "channel", "category")
MEASURES = ("messages", "priced", "cost", "sent", "delivered", "failed", "opted_out")
WENT = "('sent', 'delivered', 'failed', 'expired', 'reconcile')"
OPTED_OUT = "Opted out"  # core.messaging.recipients.SKIP_OPTED_OUT


def _values(row: str, sign: str, hour: str) -> list[str]:
    """The key and the measures of one message row (`row`: NEW, OLD or a table alias)."""
    out = f"{row}.direction = 'out'"
    return [hour, f"{row}.direction", f"{row}.channel", f"{row}.category",
            f"{sign}1", f"{sign}(CASE WHEN {row}.cost IS NULL THEN 0 ELSE 1 END)",
            f"{sign}COALESCE({row}.cost, 0)",
            f"{sign}(CASE WHEN {out} AND {row}.status IN {WENT} THEN 1 ELSE 0 END)",
            f"{sign}(CASE WHEN {out} AND {row}.status = 'delivered' THEN 1 ELSE 0 END)",
            f"{sign}(CASE WHEN {out} AND {row}.status IN ('failed', 'expired') THEN 1 ELSE 0 END)",
            f"{sign}(CASE WHEN {out} AND {row}.status = 'skipped' AND {row}.reason = "
            f"'{OPTED_OUT}' THEN 1 ELSE 0 END)"]


def _pg_select(table: str, sign: str) -> str:
    names = ", ".join(f"{v} AS {n}" for v, n in zip(
        _values("m", sign, "date_trunc('hour', m.created_at)"), KEY + MEASURES, strict=True))
    return f"SELECT {names} FROM {table} m"


def _pg_insert(parts: list[str]) -> str:
    sums = ", ".join(f"sum({n})" for n in MEASURES)
    changed = " OR ".join(f"sum({n}) <> 0" for n in MEASURES)
    keys = ", ".join(KEY)
    return (f"INSERT INTO usage_rollup ({keys}, compacted, {', '.join(MEASURES)}) "
            f"SELECT {keys}, false, {sums} FROM ({' UNION ALL '.join(parts)}) d "
            f"GROUP BY {keys} HAVING {changed} ORDER BY {keys};")


PG_FUNCTION = f"""
CREATE FUNCTION usage_rollup_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    {_pg_insert([_pg_select("new_rows", "")])}
  ELSIF TG_OP = 'UPDATE' THEN
    {_pg_insert([_pg_select("new_rows", ""), _pg_select("old_rows", "-")])}
  ELSIF TG_OP = 'DELETE' THEN
    {_pg_insert([_pg_select("old_rows", "-")])}
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION usage_rollup_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM usage_rollup;
  RETURN NULL;
END $$;
CREATE TRIGGER usage_rollup_insert AFTER INSERT ON messages REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup_apply();
CREATE TRIGGER usage_rollup_update AFTER UPDATE ON messages
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup_apply();
CREATE TRIGGER usage_rollup_delete AFTER DELETE ON messages REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup_apply();
CREATE TRIGGER usage_rollup_truncate AFTER TRUNCATE ON messages
  FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup_truncate();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS usage_rollup_insert ON messages;
DROP TRIGGER IF EXISTS usage_rollup_update ON messages;
DROP TRIGGER IF EXISTS usage_rollup_delete ON messages;
DROP TRIGGER IF EXISTS usage_rollup_truncate ON messages;
DROP FUNCTION IF EXISTS usage_rollup_apply();
DROP FUNCTION IF EXISTS usage_rollup_truncate();
"""
# SQLite stores a datetime as 'YYYY-MM-DD HH:MM:SS.ffffff': the hour is its first 13 characters.
SQLITE_HOUR = "substr({row}.created_at, 1, 13) || ':00:00.000000'"


def _sqlite_upsert(row: str, sign: str) -> str:
    values = _values(row, sign, SQLITE_HOUR.format(row=row))
    add = ", ".join(f"{n} = {n} + excluded.{n}" for n in MEASURES)
    # "WHERE true": SQLite's parser needs it between a SELECT and ON CONFLICT.
    return (f"INSERT INTO usage_rollup ({', '.join(KEY)}, compacted, {', '.join(MEASURES)}) "
            f"SELECT {', '.join(values[:4])}, 1, {', '.join(values[4:])} WHERE true "
            f"ON CONFLICT ({', '.join(KEY)}, grain) WHERE compacted DO UPDATE SET {add};")


SQLITE_TRIGGERS = [
    f"CREATE TRIGGER usage_rollup_insert AFTER INSERT ON messages BEGIN "
    f"{_sqlite_upsert('NEW', '')} END",
    f"CREATE TRIGGER usage_rollup_update AFTER UPDATE OF created_at, direction, channel, "
    f"category, status, reason, cost ON messages BEGIN {_sqlite_upsert('OLD', '-')} "
    f"{_sqlite_upsert('NEW', '')} END",
    f"CREATE TRIGGER usage_rollup_delete AFTER DELETE ON messages BEGIN "
    f"{_sqlite_upsert('OLD', '-')} END",
]


def upgrade():
    op.create_table(
        "usage_rollup",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("hour", sa.DateTime(), nullable=False),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("grain", sa.String(4), nullable=False, server_default="hour"),
        sa.Column("compacted", sa.Boolean(), nullable=False),
        sa.Column("messages", sa.BigInteger(), nullable=False),
        sa.Column("priced", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.Numeric(16, 5), nullable=False),
        sa.Column("sent", sa.BigInteger(), nullable=False),
        sa.Column("delivered", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.Column("opted_out", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_usage_rollup_hour", "usage_rollup", ["hour"])
    op.create_index("uq_usage_rollup_key", "usage_rollup", [*KEY, "grain"], unique=True,
                    postgresql_where=sa.text("compacted"), sqlite_where=sa.text("compacted"))
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        hour = "date_trunc('hour', m.created_at)"
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)
        hour = SQLITE_HOUR.format(row="m")
    _backfill(hour)
    op.create_index("ix_messages_unread_inbound", "messages", ["client_id"],
                    postgresql_where=sa.text("direction = 'in' AND read_at IS NULL"),
                    sqlite_where=sa.text("direction = 'in' AND read_at IS NULL"))


def _backfill(hour: str) -> None:
    """One compacted row per key from the messages already stored."""
    names = ", ".join(f"{v} AS {n}" for v, n in zip(_values("m", "", hour), KEY + MEASURES,
                                                   strict=True))
    keys = ", ".join(KEY)
    sums = ", ".join(f"sum({n})" for n in MEASURES)
    op.execute(f"INSERT INTO usage_rollup ({keys}, compacted, {', '.join(MEASURES)}) "
               f"SELECT {keys}, true, {sums} FROM (SELECT {names} FROM messages m) d "
               f"GROUP BY {keys}")


def downgrade():
    op.drop_index("ix_messages_unread_inbound", table_name="messages")
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(PG_DROP)
    else:
        for name in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS usage_rollup_{name}")
    op.drop_index("uq_usage_rollup_key", table_name="usage_rollup")
    op.drop_index("ix_usage_rollup_hour", table_name="usage_rollup")
    op.drop_table("usage_rollup")
