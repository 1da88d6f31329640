"""VACUUM ANALYZE for index tests on PostgreSQL."""

from sqlalchemy import text

from core.extensions import db


def vacuum(table: str) -> None:
    """VACUUM ANALYZE `table`, as autovacuum would after a bulk insert.

    Rows inserted after a GIN index was built wait in its pending list, which the planner
    rightly counts as a cost of reading the index; VACUUM moves them into the index proper.
    """
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM ANALYZE {table}"))
