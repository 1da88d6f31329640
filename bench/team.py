"""Benchmark: staff chat live delivery by htmx polling with a version key.

50 simulated staff browsers (threads with their own session cookie) have one group chat open,
as the page does: the message pane polls every 1 s with the version it shows (204 while
nothing changed), the nav badge and the chat list every 3 s. One of them sends a message every
2 s. Measured: p95 time from the POST to each other browser's poll returning the message, and
the CPU used by the web process (gunicorn, 2 workers × 8 threads unless BENCH_TEAM_SERVER
says otherwise, its whole process group) under that load against the same server idle.
"""

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid

import requests

from bench.env import application, free_port, line, p95, start_web
from core.auth.models import Role, User
from core.extensions import db
from core.team import operations

BROWSERS, POLL, SLOW_POLL, SEND_EVERY = 50, 1.0, 3.0, 2.0
# gunicorn's workers and threads (BENCH_TEAM_SERVER="-w 4 -k gthread --threads 4" to compare).
SERVER = os.environ.get("BENCH_TEAM_SERVER", "-w 2 -k gthread --threads 8")
V = re.compile(r'id="team-messages"[^>]*hx-get="([^"]+)"', re.S)
BADGE = re.compile(r'id="nav-team"[^>]*hx-get="([^"]+)"', re.S)
LIST = re.compile(r'id="team-list"[^>]*hx-get="([^"]+)"', re.S)
SEEN = re.compile(r'id="team-seen" hx-get="([^"]+)"', re.S)


def follow(http, base: str, url: str, pattern) -> str:
    """One htmx poll: GET `url`; on 200 the next url is the one the new fragment carries."""
    answer = http.get(base + url, headers={"HX-Request": "true"})
    if answer.status_code == 200:
        return pattern.search(answer.text).group(1).replace("&amp;", "&")
    return url


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (from /proc), in seconds."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:  # fields[1]: the parent pid
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def start_server(app, port: int) -> subprocess.Popen:
    """gunicorn with the bench's configuration (CSRF off, like the test client)."""
    config = {k: v for k, v in app.config.items() if k in (
        "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "RATELIMIT_STORAGE_URI",
        "RATELIMIT_ENABLED", "WTF_CSRF_ENABLED", "BUSINESS_TIMEZONE", "DEFAULT_REGION")}
    target = f"app:create_app({json.dumps(config).replace('false', 'False')})"
    return start_web([*SERVER.split(), target], port, stderr=_log(), tries=200)


def _log():
    """The server's request log goes to BENCH_TEAM_LOG when set (to see per-route times)."""
    path = os.environ.get("BENCH_TEAM_LOG")
    return open(path, "w") if path else subprocess.DEVNULL  # noqa: SIM115 (the server owns it)


def cookies(app, users) -> list[str]:
    """A signed session cookie per user (as the login form would leave)."""
    serializer = app.session_interface.get_signing_serializer(app)
    return [serializer.dumps({"_user_id": str(u.id), "_fresh": True}) for u in users]


class Browser(threading.Thread):
    """One staff member's open chat page: the polls the page makes, timing what arrives."""

    def __init__(self, base, cookie, chat_id, sent, seen, stop):
        super().__init__(daemon=True)
        self.http = requests.Session()
        self.http.cookies.set("session", cookie)
        self.base, self.chat_id, self.sent, self.seen, self.stop = base, chat_id, sent, seen, stop
        self.error, self.polls = None, 0

    def run(self):
        try:
            self.browse()
        except requests.RequestException as exc:  # counted: its deliveries are then missing
            self.error = exc

    def browse(self):
        page = self.http.get(f"{self.base}/team/{self.chat_id}").text
        poll = V.search(page).group(1).replace("&amp;", "&")
        slow = {p: p.search(page).group(1).replace("&amp;", "&") for p in (BADGE, LIST, SEEN)}
        known, slow_at = set(), 0.0
        while not self.stop.is_set():
            started = time.monotonic()
            answer = self.http.get(self.base + poll, headers={"HX-Request": "true"})
            self.polls += 1
            if answer.status_code == 200:
                poll = V.search(answer.text).group(1).replace("&amp;", "&")
                now = time.monotonic()
                for token in re.findall(r"bench-[0-9a-f]{8}", answer.text):
                    if token not in known and token in self.sent:
                        known.add(token)
                        self.seen.append(now - self.sent[token])
            if started >= slow_at:  # the badge, the list and the receipts, every 2-3 s
                for pattern, url in slow.items():
                    slow[pattern] = follow(self.http, self.base, url, pattern)
                slow_at = started + SLOW_POLL
            self.stop.wait(max(0.0, POLL - (time.monotonic() - started)))


def run(seconds: int = 30) -> None:
    """Idle CPU, then 50 browsers for `seconds` with a message every 2 s."""
    with application("postgresql") as app:
        users = []
        for n in range(BROWSERS + 1):
            user = User(email=f"staff{n}@example.com", name=f"Staff {n}")
            user.role = Role.EDIT
            user.set_password("x")
            db.session.add(user)
            users.append(user)
        db.session.commit()
        chat = operations.create_group(users[0], "Everyone", users[1:])
        db.session.commit()
        port = free_port()
        server = start_server(app, port)
        base = f"http://127.0.0.1:{port}"
        try:
            time.sleep(2)
            idle_start = cpu_seconds(server.pid)
            time.sleep(seconds)
            idle = (cpu_seconds(server.pid) - idle_start) / seconds
            sent, seen, stop = {}, [], threading.Event()
            jar = cookies(app, users)
            browsers = [Browser(base, jar[i], chat.id, sent, seen, stop)
                        for i in range(1, BROWSERS + 1)]
            for browser in browsers:
                browser.start()
            time.sleep(3)
            sender = requests.Session()
            sender.cookies.set("session", jar[0])
            load_start, begun = cpu_seconds(server.pid), time.monotonic()
            while time.monotonic() - begun < seconds:
                token = f"bench-{uuid.uuid4().hex[:8]}"
                sent[token] = time.monotonic()
                # A fresh connection each time: gunicorn drops keep-alives idle for 2 s.
                sender.post(f"{base}/team/{chat.id}/send", data={"body": f"{token} hello"},
                            headers={"HX-Request": "true", "Connection": "close"})
                time.sleep(SEND_EVERY)
            time.sleep(2)
            busy = (cpu_seconds(server.pid) - load_start) / (time.monotonic() - begun)
            stop.set()
            for browser in browsers:
                browser.join(5)
        finally:
            server.terminate()
            server.wait(10)
        expected = len(sent) * BROWSERS
        failed = sum(1 for b in browsers if b.error)
        line("messages sent / deliveries seen", f"{len(sent)} / {len(seen)}",
             f"of {expected} expected; {failed} browsers failed")
        line("p95 send → seen (target ≤ 1.5 s)", f"{p95(seen):.3f} s",
             f"median {sorted(seen)[len(seen) // 2]:.3f} s, max {max(seen):.3f} s")
        line("web CPU idle", f"{idle * 100:.1f} %", "of one core")
        line("web CPU with 50 browsers", f"{busy * 100:.1f} %",
             f"{busy / max(idle, 1e-3):.0f}× idle; gunicorn {SERVER}")


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
