"""Fixtures of the fault drills: the self-answering fake Vonage, counts, and a real worker."""

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.env import stop as stop_worker  # noqa: F401  (used by the drills)
from bench.fake import AutoVonage, vonage_env
from core.extensions import db
from core.messaging.models import Message
from tests.fake_vonage import vonage_ca  # noqa: F401  (fixture)
from tests.processes import descendants, kill_worker  # noqa: F401  (used by the drills)

ROOT = Path(__file__).resolve().parents[2]
SIZE = int(os.environ.get("DRILL_SIZE", "0"))  # `make bench` runs the drills larger


def size(default: int) -> int:
    """The drill's message count: DRILL_SIZE when set, else the fast default."""
    return SIZE or default


@pytest.fixture
def auto_vonage(vonage_ca, monkeypatch, app):  # noqa: F811
    """Factory: a running AutoVonage; the app (and forked work horses) send through it."""
    ca, path = vonage_ca
    servers = []

    def make(**options) -> AutoVonage:
        server = AutoVonage(ca, **options).start()
        servers.append(server)
        for name, value in vonage_env(server, str(path)).items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
        return server

    yield make
    for server in servers:
        server.stop()


def start_worker(app, log=None, niceness: int = 0, **env) -> subprocess.Popen:
    """`python worker.py` against the test database and Redis, in its own process group
    (`niceness`: at a lower CPU priority, as for workers that share the web server's cores)."""
    # The test app's sending window (none), so a fan-out run by the worker does not hold
    # messages for quiet hours at night in America/New_York.
    window = {k: str(app.config[k]) for k in ("SENDING_WINDOW_START", "SENDING_WINDOW_END")
              if k in app.config}
    full = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"], "SECRET_KEY": app.config["SECRET_KEY"],
            **window, **{k: str(v) for k, v in env.items()}}
    return subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=full,
                            stdout=log or subprocess.DEVNULL, stderr=log or subprocess.DEVNULL,
                            start_new_session=True, preexec_fn=lambda: os.nice(niceness))


def statuses(broadcast_id=None) -> Counter:
    """Messages per status (of one broadcast, or all outbound)."""
    db.session.commit()
    query = select(Message.status, func.count()).where(Message.direction == "out")
    if broadcast_id is not None:
        query = query.where(Message.broadcast_id == broadcast_id)
    return Counter(dict(db.session.execute(query.group_by(Message.status)).all()))


def report(name: str, **counts) -> None:
    """Print the drill's counts on one line (the README quotes these)."""
    print(f"\nDRILL {name}: " + ", ".join(f"{k}={v}" for k, v in counts.items()), flush=True)


@pytest.fixture
def gunicorn(app):
    """`gunicorn app:create_app()` on a free loopback port (GUNICORN_ARGS, by default 4 workers
    × 4 threads: a webhook mostly waits for its commit, so 16 in flight answered 30-60 % more
    than 2 × 4 or 4 sync workers on these 2 shared cores); its URL."""
    import socket
    import time

    import requests

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": app.config["REDIS_URL"], "SECRET_KEY": app.config["SECRET_KEY"]}
    options = os.environ.get("GUNICORN_ARGS", "-w 4 --threads 4").split()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), *options,
                             "-b", f"127.0.0.1:{port}", "app:create_app()"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                requests.get(f"{url}/login", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(15)


def post(session, url: str, params: dict, tries: int = 5) -> tuple[int, int]:
    """POST like a provider: retry what was not answered 200; (final status, attempts)."""
    import time

    for attempt in range(1, tries + 1):
        try:
            status = session.post(url, data=params, timeout=10).status_code
        except Exception:  # noqa: BLE001 - a dropped connection is retried like a 5xx
            status = 0
        if status == 200:
            return status, attempt
        time.sleep(0.2 * attempt)
    return status, tries


class Poster:
    """One keep-alive connection that posts forms like a provider, retrying what was not
    answered 200 (http.client: the load generator must not eat the CPU it measures)."""

    HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}

    def __init__(self, base_url: str):
        from urllib.parse import urlsplit

        parts = urlsplit(base_url)
        self.host, self.port, self.connection = parts.hostname, parts.port, None

    def post(self, path: str, params: dict, tries: int = 5) -> tuple[int, int]:
        """(final status, attempts); a dropped connection counts as a failed attempt."""
        import http.client
        import time
        from urllib.parse import urlencode

        body, status = urlencode(params), 0
        for attempt in range(1, tries + 1):
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection(self.host, self.port,
                                                                 timeout=10)
                self.connection.request("POST", path, body, self.HEADERS)
                answer = self.connection.getresponse()
                answer.read()
                status = answer.status
            except (OSError, http.client.HTTPException):
                self.connection.close()
                self.connection, status = None, 0
            if status == 200:
                return status, attempt
            time.sleep(0.2 * attempt)
        return status, tries


def wait_until(predicate, timeout: float, interval: float = 0.25, every=None):
    """Poll `predicate()` (calling `every()` first each round) until true; fail after `timeout`."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        if every is not None:
            every()
        db.session.commit()
        db.session.expire_all()
        if result := predicate():
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s: {statuses()}")
        time.sleep(interval)


SIGNATURE_SECRET = "signature-secret-for-drills-0123456789"


def use_vonage_webhooks() -> None:
    """Credentials and the signature secret the receipt webhook checks."""
    from core import settings

    settings.set("vonage_api_key", "abcd1234")
    settings.set("vonage_api_secret", "api-secret-4f2a")
    settings.set("vonage_signature_secret", SIGNATURE_SECRET)
    settings.set("vonage_signature_method", "sha256")


def signed_receipt(provider_id: str, client_ref: str = "", status: str = "delivered") -> dict:
    """A delivery receipt as Vonage posts it, signed with the drills' secret."""
    import time
    import uuid

    from core.providers.vonage_webhooks import sms_signature

    params = {"msisdn": "12025550147", "to": "12025550100", "network-code": "310260",
              "messageId": provider_id, "price": "0.00790000", "status": status,
              "scts": "2601150930", "err-code": "0", "api-key": "abcd1234",
              "message-timestamp": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
              "timestamp": str(int(time.time())), "nonce": uuid.uuid4().hex[:12]}
    if client_ref:
        params["client-ref"] = client_ref
    params["sig"] = sms_signature(params, SIGNATURE_SECRET, "sha256").upper()
    return params


def settle_from_receipts(app, server) -> int:
    """The provider's receipts arrive for the messages left in reconcile that it accepted
    (posted to the real webhook route); returns how many were posted."""
    use_vonage_webhooks()
    db.session.commit()
    left = db.session.scalars(select(Message.id).where(Message.status == "reconcile")).all()
    client = app.test_client()
    posted = 0
    for message_id in left:
        provider_id = server.issued.get(str(message_id))
        if provider_id:
            answer = client.post("/webhooks/vonage/sms/receipt",
                                 data=signed_receipt(provider_id, str(message_id)))
            assert answer.status_code == 200, answer.status_code
            posted += 1
    return posted


def outcome(server, broadcast_ids) -> dict:
    """The drill's figures from the database and from the fake's own count per message id."""
    db.session.commit()
    ids = set(db.session.scalars(select(Message.id).where(
        Message.broadcast_id.in_(list(broadcast_ids)))))
    counts = Counter()
    for bid in broadcast_ids:
        counts.update(statuses(bid))
    at_fake = {int(ref): n for ref, n in server.accepted.items() if ref.isdigit()}
    failed = set(db.session.scalars(select(Message.id).where(
        Message.broadcast_id.in_(list(broadcast_ids)), Message.status == "failed")))
    return {"messages": len(ids), "sent": counts["sent"], "delivered": counts["delivered"],
            "failed": counts["failed"], "reconcile": counts["reconcile"],
            "queued": counts["queued"] + counts["sending"],
            "duplicates": sum(n - 1 for n in at_fake.values() if n > 1),
            # lost: never reached the provider, yet not shown as failed either (silently gone)
            "lost": len(ids - set(at_fake) - failed), "unknown_at_fake": len(set(at_fake) - ids)}


class CuttableProxy:
    """A TCP proxy on loopback (e.g. worker → PostgreSQL) that can be cut: while cut, every
    open connection is dropped and new ones are closed at once, as if the server were down.
    The shared PostgreSQL server itself is never stopped (other test runs use it)."""

    def __init__(self, upstream: tuple[str, int]):
        import socket
        import threading

        self.upstream, self.cut_now = upstream, False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.live: set = set()
        self.lock = threading.Lock()
        self.refused = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_now:
                self.refused += 1
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.live.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source, target) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, target):
                self._close(s)

    def _close(self, sock) -> None:
        import socket

        with self.lock:
            self.live.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def cut(self) -> int:
        """Drop every connection and refuse new ones; returns how many were dropped."""
        self.cut_now = True
        with self.lock:
            victims = list(self.live)
        for sock in victims:
            self._close(sock)
        return len(victims) // 2

    def restore(self) -> None:
        self.cut_now = False

    def close(self) -> None:
        self.cut()
        self.listener.close()
