"""usage_rollup on updates: one row-level trigger that fires only when a change moves a figure
(status into or out of sent / delivered / failed / opted out, price, category, channel,
direction, time), instead of PostgreSQL's statement trigger on every UPDATE of messages.

The delivery pipeline updates one message per autocommit statement (claim, sent, receipt):
the statement trigger aggregated its transition tables each time (~1 ms more per UPDATE on
this machine), even for a claim (queued → sending), which moves no figure. Now the WHEN clause
is checked in C and only a figure-moving row calls the function, which appends two rows
(the old values subtracted, the new added) for the compaction to fold.

Revision ID: 0028_usage_rollup_rows
Revises: 0027_merge
"""

from alembic import op

revision = "0028_usage_rollup_rows"
down_revision = "0027_merge"
branch_labels = None
depends_on = None

WENT = "('sent', 'delivered', 'failed', 'expired', 'reconcile')"
MEASURES = "messages, priced, cost, sent, delivered, failed, opted_out"


def _figures(row: str) -> str:
    """What of a message row the rollup counts (a row value: compared, never stored)."""
    out = f"{row}.direction = 'out'"
    return (f"({row}.created_at, {row}.direction, {row}.channel, {row}.category, {row}.cost, "
            f"{out} AND {row}.status IN {WENT}, {out} AND {row}.status = 'delivered', "
            f"{out} AND {row}.status IN ('failed', 'expired'), "
            f"{out} AND {row}.status = 'skipped' AND {row}.reason = 'Opted out')")


def _values(row: str, sign: str, hour: str) -> list[str]:
    out = f"{row}.direction = 'out'"
    return [
        hour, f"{row}.direction", f"{row}.channel", f"{row}.category", f"{sign}1",
        f"{sign}(CASE WHEN {row}.cost IS NULL THEN 0 ELSE 1 END)",
        f"{sign}COALESCE({row}.cost, 0)",
        f"{sign}(CASE WHEN {out} AND {row}.status IN {WENT} THEN 1 ELSE 0 END)",
        f"{sign}(CASE WHEN {out} AND {row}.status = 'delivered' THEN 1 ELSE 0 END)",
        f"{sign}(CASE WHEN {out} AND {row}.status IN ('failed', 'expired') THEN 1 ELSE 0 END)",
        f"{sign}(CASE WHEN {out} AND {row}.status = 'skipped' AND {row}.reason = 'Opted out' "
        f"THEN 1 ELSE 0 END)"]


CHANGED = f"{_figures('OLD')} IS DISTINCT FROM {_figures('NEW')}"
PG_HOUR = "date_trunc('hour', {row}.created_at)"
PG_UP = f"""
DROP TRIGGER IF EXISTS usage_rollup_update ON messages;
CREATE FUNCTION usage_rollup_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_rollup (hour, direction, channel, category, {MEASURES}, compacted)
  VALUES ({", ".join(_values("OLD", "-", PG_HOUR.format(row="OLD")))}, false),
         ({", ".join(_values("NEW", "", PG_HOUR.format(row="NEW")))}, false);
  RETURN NULL;
END $$;
CREATE TRIGGER usage_rollup_update AFTER UPDATE ON messages FOR EACH ROW
  WHEN ({CHANGED}) EXECUTE FUNCTION usage_rollup_row();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS usage_rollup_update ON messages;
DROP FUNCTION IF EXISTS usage_rollup_row();
CREATE TRIGGER usage_rollup_update AFTER UPDATE ON messages
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION usage_rollup_apply();
"""
SQLITE_HOUR = "substr({row}.created_at, 1, 13) || ':00:00.000000'"
COLUMNS = "created_at, direction, channel, category, status, reason, cost"


def _sqlite_upsert(row: str, sign: str) -> str:
    values = _values(row, sign, SQLITE_HOUR.format(row=row))
    add = ", ".join(f"{n} = {n} + excluded.{n}" for n in MEASURES.split(", "))
    return (f"INSERT INTO usage_rollup (hour, direction, channel, category, compacted, "
            f"{MEASURES}) SELECT {', '.join(values[:4])}, 1, {', '.join(values[4:])} WHERE true "
            f"ON CONFLICT (hour, direction, channel, category, grain) WHERE compacted "
            f"DO UPDATE SET {add};")


def _sqlite_trigger(when: str) -> str:
    return (f"CREATE TRIGGER usage_rollup_update AFTER UPDATE OF {COLUMNS} ON messages "
            f"{when}BEGIN {_sqlite_upsert('OLD', '-')} {_sqlite_upsert('NEW', '')} END")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_UP)
    else:
        op.execute("DROP TRIGGER IF EXISTS usage_rollup_update")
        op.execute(_sqlite_trigger(f"WHEN {CHANGED.replace('IS DISTINCT FROM', 'IS NOT')} "))


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_DOWN)
    else:
        op.execute("DROP TRIGGER IF EXISTS usage_rollup_update")
        op.execute(_sqlite_trigger(""))
