"""The plan PostgreSQL makes for the first ILIKE statement a piece of code runs (index tests)."""

from sqlalchemy import event, text

from core.extensions import db


def plan_of_search(search, *, seqscan: bool = True) -> str:
    """EXPLAIN of the first ILIKE statement `search()` runs; seqscan=False when the test's rows
    are too few for an index to win on cost alone."""
    seen = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        search()
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    statement, parameters = next((s, p) for s, p in seen if "ILIKE" in s)
    with db.engine.connect() as conn:
        if not seqscan:
            conn.execute(text("SET enable_seqscan = off"))
        rows = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return "\n".join(row[0] for row in rows)
