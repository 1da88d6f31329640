"""Benchmark 3: Outbox and search over N messages on PostgreSQL, through the Flask test client.

The rows are made by one INSERT … SELECT generate_series (10,000 clients, N messages spread
over them). Each request is timed 20 times after a warm-up; p95 is reported, and any
`count(` over the messages on the request path is flagged. The messages belong to no broadcast,
so all of them are in the search's text index (its worst case: a mass send's are not).

Every request is timed three times over: right after the fill, with no statistics on the new
rows (autovacuum is kept off the table meanwhile, as when it is late after a large fan-out);
after the ANALYZE a fan-out of that many rows runs (core.bulk.analyze_after_bulk, no VACUUM);
and after the benchmark's own VACUUM ANALYZE (which also sets the visibility map).
"""

import os
import time

from sqlalchemy import event, func, select, text

from bench import data
from bench.env import application, line, p95
from core.auth.models import Role, User
from core.bulk import analyze_after_bulk
from core.extensions import db
from core.messaging.models import Message
from core.messaging.transitions import MESSAGES

CLIENTS = 10_000
REPEAT = 20

FILL = """
INSERT INTO messages (broadcast_id, client_id, appointment_id, direction, channel, to_addr,
                      from_addr, subject, body, status, reason, send_at, provider, segments,
                      attempts, created_at, sent_at)
SELECT NULL, a.client_id, a.id, 'out', 'sms', c.mobile, '', '',
       'Hello ' || c.first_name || ', your appointment #' || g || ' is confirmed.',
       (ARRAY['sent','delivered','delivered','delivered','failed','queued'])[1 + g % 6], '',
       now() - (:n - g) * interval '1 second', 'vonage', 1, 1,
       now() - (:n - g) * interval '1 second', now() - (:n - g) * interval '1 second'
FROM generate_series(1, :n) AS g
JOIN appointments a ON a.id = :first + (g % :clients)
JOIN clients c ON c.id = a.client_id
"""


def fill(n: int) -> float:
    """Insert `n` messages in one statement (autovacuum kept off them); returns the seconds."""
    ids = data.appointments(CLIENTS)
    db.session.execute(text("ALTER TABLE messages SET (autovacuum_enabled = off, "
                            "toast.autovacuum_enabled = off)"))
    db.session.commit()
    start = time.perf_counter()
    db.session.execute(text(FILL), {"n": n, "first": min(ids), "clients": CLIENTS})
    db.session.commit()
    return time.perf_counter() - start


def vacuum_analyze() -> float:
    """The benchmark's own VACUUM ANALYZE of the messages (autovacuum back on); seconds."""
    start = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ALTER TABLE messages RESET (autovacuum_enabled, "
                          "toast.autovacuum_enabled)"))
        conn.execute(text("VACUUM ANALYZE messages"))
    return time.perf_counter() - start


def analyzed() -> bool:
    """Whether the messages table has statistics (ANALYZE ran on it)."""
    return bool(db.session.scalar(text(
        "SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL "
        "FROM pg_stat_user_tables WHERE relname = 'messages'")))


def signed_in(app):
    """A test client signed in as a Read Only user."""
    user = User(email="bench@example.com", name="Bench")
    user.role = Role.READ_ONLY
    user.set_password("correct horse battery")
    db.session.add(user)
    db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    return client


def measure(client, url: str, htmx: bool = False, repeat: int = REPEAT
            ) -> tuple[float, list[str]]:
    """p95 seconds of GET `url` and the statements one request ran."""
    headers = {"HX-Request": "true"} if htmx else {}
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    assert client.get(url, headers=headers).status_code == 200, url  # warm-up
    event.listen(db.engine, "before_cursor_execute", seen)
    samples = []
    for n in range(repeat):
        if n == 1:
            event.remove(db.engine, "before_cursor_execute", seen)
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return p95(samples), statements


def full_counts(statements: list[str]) -> list[str]:
    """Statements counting messages without any WHERE (an exact count over the table)."""
    return [s for s in statements if "count(" in s.lower() and "messages" in s.lower()
            and "where" not in s.lower()]


def run(size: int = 1_000_000) -> dict:
    """Fill, time the requests without statistics, VACUUM ANALYZE, time them again; prints
    and returns p95 in ms for both."""
    with application("postgresql") as app:
        fill_s = fill(size)
        client = signed_in(app)
        top = db.session.scalar(select(func.max(Message.id)))
        ids = ",".join(str(i) for i in range(top - 49, top + 1))
        cases = [
            ("first page (full)", "/messages/outbox", False, 50),
            ("first page (htmx rows)", "/messages/outbox", True, 50),
            ("deep keyset page (90% down, htmx)", f"/messages/outbox?before={top // 10}", True,
             50),
            ("filtered search q=Client4242 (full)", "/messages/outbox?q=Client4242", False, 50),
            ("filtered search q=Client4242&status=failed (htmx)",
             "/messages/outbox?q=Client4242&status=failed", True, 50),
            # A word of one body only (the trigram index), and one in every body (newest first
            # from the primary key, stopping at a page).
            ("body search q=%2342424 (htmx)", "/messages/outbox?q=%2342424", True, 50),
            ("body search q=confirmed (htmx)", "/messages/outbox?q=confirmed", True, 50),
            ("status-refresh partial (50 ids)", f"/messages/statuses?ids={ids}", True, 30),
        ]
        print(f"outbox  size={size:,} messages (PostgreSQL; filled in {fill_s:,.0f} s)")
        results: dict[str, dict] = {"fresh": {}, "fan-out's ANALYZE": {}, "VACUUM ANALYZE": {}}
        for phase in results:
            if phase == "fresh":
                print(f"  -- no statistics on the new rows (analyzed: {analyzed()})")
            elif phase == "VACUUM ANALYZE":
                print(f"  -- after the benchmark's VACUUM ANALYZE ({vacuum_analyze():,.1f} s)")
            else:
                seconds = time.perf_counter()
                analyze_after_bulk(MESSAGES, size, 1)
                print(f"  -- after the ANALYZE a fan-out of {size:,} runs (no VACUUM; "
                      f"{time.perf_counter() - seconds:,.1f} s)")
            for name, url, htmx, target in cases:
                seconds, statements = measure(client, url, htmx,
                                              REPEAT // 2 if phase == "fresh" else REPEAT)
                counts = full_counts(statements)
                results[phase][name] = seconds * 1000
                line(name, f"{seconds * 1000:,.1f} ms",
                     f"p95 of {REPEAT // 2 if phase == 'fresh' else REPEAT}; target <= {target} ms"
                     f"{'; FULL COUNT: ' + counts[0][:60] if counts else ''}")
        print(f"  load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return results
