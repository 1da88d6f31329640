"""Benchmark: the usage page and the usage CSV over N messages, and the web process's memory
while it streams an N-row Outbox export, all through real HTTP to gunicorn.

The messages (a year of them, every hour, 10 % inbound, all read but the newest 50, three
categories, sms and email, priced) go in with one INSERT … SELECT; the rollup's triggers fold
them as they would any bulk insert, and the compaction job runs once, as the scheduler's
minute would. The page is
timed REPEAT times per range (this month, 30 days, 90 days, a year) after a warm-up, p50 and
p95, beside two references measured in the same run: `/healthz` (HTTP and the app alone) and
the old way, the same year's figures summed from the messages table itself.
"""

import os
import statistics
import time
from datetime import timedelta

import requests
from sqlalchemy import func, select, text

from bench import data
from bench.env import application, free_port, line, p95, start_web
from bench.memory import kib
from core.auth.models import Role, User
from core.extensions import db
from core.types import utcnow
from core.usage.models import UsageRollup
from core.usage.rollup import compact
from tests.processes import descendants

CLIENTS = 10_000
REPEAT = 30
FILL = {
    "postgresql": """
INSERT INTO messages (client_id, appointment_id, direction, channel, category, to_addr,
                      from_addr, subject, body, status, reason, provider, segments, cost,
                      attempts, created_at, sent_at, read_at)
SELECT a.client_id, a.id, CASE WHEN g % 10 = 0 THEN 'in' ELSE 'out' END,
       CASE WHEN g % 17 = 0 THEN 'email' ELSE 'sms' END,
       CASE WHEN g % 10 = 0 OR g % 13 = 0 THEN 'direct' WHEN g % 7 = 0 THEN 'marketing'
            ELSE 'transactional' END,
       c.mobile, '+12025550000', '', 'Hello ' || c.first_name || ', see you at 9:00 (' || g || ')',
       CASE WHEN g % 10 = 0 THEN 'received'
            ELSE (ARRAY['sent','delivered','delivered','delivered','failed','skipped'])[1 + g % 6]
       END,
       CASE WHEN g % 6 = 5 AND g % 10 <> 0 THEN 'Opted out' ELSE '' END, 'vonage', 1,
       CASE WHEN g % 17 = 0 THEN NULL ELSE 0.0079 END, 1,
       now() AT TIME ZONE 'UTC' - (:n - g) * (interval '365 days' / :n),
       now() AT TIME ZONE 'UTC' - (:n - g) * (interval '365 days' / :n),
       CASE WHEN g % 10 = 0 AND g < :n - 500 THEN now() AT TIME ZONE 'UTC' END
FROM generate_series(1, :n) AS g
JOIN appointments a ON a.id = :first + (g % :clients)
JOIN clients c ON c.id = a.client_id
""",
}
OLD_WAY = """
SELECT direction, channel, category, count(*), sum(cost) FROM messages
WHERE created_at >= :since GROUP BY direction, channel, category
"""


def fill(n: int) -> float:
    """Insert `n` messages over the past year, compact the rollup, ANALYZE; seconds taken."""
    ids = data.appointments(CLIENTS)
    start = time.perf_counter()
    db.session.execute(text(FILL["postgresql"]), {"n": n, "first": min(ids),
                                                  "clients": CLIENTS})
    db.session.commit()
    compact()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE messages"))
        conn.execute(text("VACUUM ANALYZE usage_rollup"))
    return time.perf_counter() - start


def cookie(app, role: Role) -> dict:
    """The session cookie of a new user with `role`, as a browser would send it."""
    user = User(email=f"bench-{role.name.lower()}@example.com", name="Bench")
    user.role = role
    user.set_password("correct horse battery")
    db.session.add(user)
    db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    name = app.config["SESSION_COOKIE_NAME"]
    return {name: client.get_cookie(name).value}


class Gunicorn:
    """`gunicorn app:create_app()` (one sync worker) on loopback, in its own process group."""

    def __init__(self, app):
        self.port = free_port()
        env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
               "REDIS_URL": app.config["REDIS_URL"], "SECRET_KEY": app.config["SECRET_KEY"],
               "BUSINESS_TIMEZONE": app.config["BUSINESS_TIMEZONE"]}
        self.proc = start_web(["-w", "1", "--timeout", "600", "app:create_app()"], self.port,
                              env)
        self.url = f"http://127.0.0.1:{self.port}"

    def worker_pid(self) -> int:
        return descendants(self.proc.pid)[0]  # the one sync worker below the master

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def timed_get(session: requests.Session, url: str) -> list[float]:
    """Seconds of REPEAT GETs of `url` after one warm-up (each must answer 200)."""
    assert session.get(url).status_code == 200, url
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        response = session.get(url)
        samples.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:,.1f} / {p95(samples) * 1000:,.1f} ms"


def page_speed(server: Gunicorn, admin: dict) -> dict:
    """p50/p95 of the usage page per range, the CSV of a year, and the references."""
    session = requests.Session()
    session.cookies.update(admin)
    today = utcnow().date()
    ranges = [("this month (default)", ""),
              *((label, f"?from={today - timedelta(days=days - 1)}&to={today}")
                for label, days in (("30 days", 30), ("90 days", 90), ("1 year", 365)))]
    results = {}
    line("reference: GET /healthz", ms(timed_get(session, f"{server.url}/healthz")),
         "p50 / p95: HTTP and the app alone")
    since = utcnow() - timedelta(days=365)
    old = []
    for _ in range(5):
        start = time.perf_counter()
        db.session.execute(text(OLD_WAY), {"since": since.replace(tzinfo=None)}).all()
        old.append(time.perf_counter() - start)
    line("reference: a year's groups from messages", ms(old), "p50 / p95 of 5: the query "
         "the page ran before the rollup (one of its three)")
    for label, query in ranges:
        samples = timed_get(session, f"{server.url}/usage{query}")
        results[label] = p95(samples) * 1000
        line(f"usage page, {label}", ms(samples), f"p50 / p95 of {REPEAT}; target p95 <= 100 ms")
    year = ranges[-1][1]
    start = time.perf_counter()
    size = len(session.get(f"{server.url}/usage/export/usage.csv{year}").content)
    line("usage CSV, 1 year", f"{(time.perf_counter() - start) * 1000:,.0f} ms",
         f"{size:,} bytes, one request")
    return results


def export_memory(server: Gunicorn, viewer: dict, n: int) -> dict:
    """Peak RSS of the gunicorn worker while it streams the whole Outbox (and Inbox) as CSV."""
    session = requests.Session()
    session.cookies.update(viewer)
    session.get(f"{server.url}/messages/outbox")  # warm: imports, templates, pools
    pid = server.worker_pid()
    before = kib(pid, "VmRSS")
    start = time.perf_counter()
    rows, size = 0, 0
    with session.get(f"{server.url}/usage/export/outbox.csv", stream=True) as response:
        assert response.status_code == 200
        for chunk in response.iter_content(1 << 16):
            size += len(chunk)
            rows += chunk.count(b"\n")
    seconds = time.perf_counter() - start
    peak = kib(pid, "VmHWM")
    line("Outbox CSV export over HTTP", f"{seconds:,.0f} s",
         f"{rows - 1:,} lines (outbound rows of {n:,}), {size / 2**20:,.0f} MiB streamed")
    line("gunicorn worker RSS before / peak", f"{before / 1024:,.0f} / {peak / 1024:,.0f} MiB",
         "target peak < 200 MiB")
    return {"export_s": seconds, "peak_mib": peak / 1024, "rows": rows - 1}


def run(size: int = 1_000_000, export: bool = True) -> dict:
    """Fill, serve with gunicorn, time the usage page, then measure the export's memory."""
    print(f"usage  size={size:,} messages (PostgreSQL); load average before "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with application("postgresql") as app:
        seconds = fill(size)
        rows = db.session.scalar(select(func.count()).select_from(UsageRollup))
        line("fill (INSERT … SELECT, triggers, compaction)", f"{seconds:,.0f} s",
             f"{rows:,} rollup rows")
        admin, viewer = cookie(app, Role.ADMIN), cookie(app, Role.READ_ONLY)
        db.session.commit()
        server = Gunicorn(app)
        try:
            results = page_speed(server, admin)
            if export:
                results |= export_memory(server, viewer, size)
        finally:
            server.stop()
    print(f"  load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return results
