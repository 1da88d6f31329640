"""Benchmark: the Compose form's POST for N selected appointments, end to end over HTTP.

The app runs as it runs in production: its own process, `gunicorn -w 2` (the Procfile's web
line), CSRF on, a user signed in through the sign-in form. The selection is made through the
Appointments page's routes (`/appointments/selection/page`, 500 ids a request, as "tick the
page" does), and each timed POST is the form a browser sends: from the first byte out to the
303 back. A send clears the selection, so it is made again before every sample.

Reference, in the same run: the same POST to one client (everything a compose request costs
that does not grow with the selection), and the machine's load from /proc/loadavg around each
sample. No worker runs: the fan-out jobs wait in Redis (the fan-out is `bench fanout`).
"""

import os
import re
import statistics
import subprocess
import tempfile
import time

import requests

from bench import data
from bench.env import application, free_port, line, start_web
from core.auth.models import Role, User
from core.extensions import db

BODY = "Hello {{ first_name }}, we are closed today because of snow. Call us to rebook."
PASSWORD = "correct horse battery staple"
PAGE = 500  # ids per "tick the page" request (the route's own cap)
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def load() -> float:
    """The 1-minute load average."""
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def start_server(app, port: int, workdir: str) -> subprocess.Popen:
    """`gunicorn -w 2 app:create_app()` configured from the environment, as the Procfile runs."""
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": app.config["REDIS_URL"], "SECRET_KEY": app.config["SECRET_KEY"],
           "TIDINGS_INSTANCE_DIR": workdir, "BUSINESS_TIMEZONE": "America/New_York"}
    return start_web(["-w", "2", "app:create_app()"], port, env)


def sign_in(base: str, email: str) -> requests.Session:
    """A browser-like session signed in through the sign-in form."""
    http = requests.Session()
    http.trust_env = False
    token = TOKEN.search(http.get(f"{base}/login").text).group(1)
    answer = http.post(f"{base}/login", data={"csrf_token": token, "email": email,
                                              "password": PASSWORD}, allow_redirects=False)
    assert answer.status_code == 303, f"sign-in failed: {answer.status_code}"
    return http


def select(http: requests.Session, base: str, ids: list[int], token: str) -> int:
    """Tick `ids` page by page through the Appointments routes; returns the requests made."""
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    for start in range(0, len(ids), PAGE):
        page = ",".join(map(str, ids[start:start + PAGE]))
        answer = http.post(f"{base}/appointments/selection/page", headers=headers,
                           data={"page_ids": page, "selected": "1"})
        assert answer.status_code == 200, answer.status_code
    return -(-len(ids) // PAGE)


def compose_token(http: requests.Session, base: str) -> str:
    """The CSRF token of the compose form."""
    return TOKEN.search(http.get(f"{base}/compose/").text).group(1)


def post(http: requests.Session, base: str, form: dict) -> float:
    """Seconds of one compose POST, first byte out to the 303 back."""
    start = time.perf_counter()
    answer = http.post(f"{base}/compose/", data=form, allow_redirects=False)
    seconds = time.perf_counter() - start
    assert answer.status_code == 303, (answer.status_code, answer.text[:2000])
    return seconds


def nearest_rank(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(round(q * len(ordered))) - 1)]


def run_one(backend: str, size: int, samples: int) -> dict:
    """Time `samples` compose POSTs of `size` selected appointments on `backend`."""
    workdir = tempfile.mkdtemp(prefix="bench-compose-")
    with application(backend) as app:
        ids = data.appointments(size)
        user = User(email="bench@example.com", name="Bench")
        user.role = Role.EDIT
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        first_client = db.session.scalar(db.select(db.func.min(data.Client.id)))
        port = free_port()
        server = start_server(app, port, workdir)
        base = f"http://127.0.0.1:{port}"
        try:
            http = sign_in(base, user.email)
            common = {"channel": "sms", "body": BODY, "when": "now",
                      "category": "transactional", "outside_window": "y"}
            big, small, loads, select_s = [], [], [], []
            for n in range(samples + 1):  # the first round warms both workers up
                token = compose_token(http, base)
                started = time.perf_counter()
                select(http, base, ids, token)
                select_s.append(time.perf_counter() - started)
                before = load()
                big_s = post(http, base, {**common, "csrf_token": token,
                                          "recipients": "selected"})
                small_s = post(http, base, {**common, "csrf_token": compose_token(http, base),
                                            "recipients": "person",
                                            "client_id": str(first_client)})
                if n:
                    big.append(big_s)
                    small.append(small_s)
                    loads.append((before + load()) / 2)
        finally:
            server.terminate()
            server.wait(20)
            app.extensions["redis"].flushdb()
    median, worst = statistics.median(big), nearest_rank(big, 0.95)
    ref = statistics.median(small)
    print(f"compose POST  backend={backend} size={size:,} (gunicorn -w 2, {samples} samples)")
    line("compose POST, median", f"{median * 1000:,.0f} ms", "target <= 300 ms")
    line("compose POST, p95 (nearest rank)", f"{worst * 1000:,.0f} ms",
         f"all: {', '.join(f'{s * 1000:,.0f}' for s in big)}")
    line("reference: the POST to one client, median", f"{ref * 1000:,.0f} ms",
         f"ratio {median / ref:,.1f}x")
    line("selecting through /appointments/selection/page", f"{statistics.median(select_s):,.1f} s",
         f"{-(-size // PAGE):,} requests of {PAGE}")
    line("load average during the samples", f"{min(loads):.1f}-{max(loads):.1f}",
         f"{os.cpu_count()} cores")
    return {"backend": backend, "size": size, "median_ms": median * 1000,
            "p95_ms": worst * 1000, "reference_ms": ref * 1000, "load": loads}


def run(sizes: list[int], backends=("postgresql", "sqlite"), samples: int = 7) -> list[dict]:
    """Every backend × size."""
    return [run_one(b, s, samples) for b in backends for s in sizes]
