"""Under gunicorn with several workers, /metrics adds up every worker's request counts
(prometheus-client's multiprocess mode through PROMETHEUS_MULTIPROC_DIR and gunicorn.conf.py)."""

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str) -> None:
    for _ in range(300):
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not start")


def test_metrics_add_up_every_gunicorn_worker(app, tmp_path):
    metrics_dir = tmp_path / "prom"
    metrics_dir.mkdir()
    (metrics_dir / "left-from-last-run.db").write_bytes(b"stale")  # emptied at start
    port = free_port()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": app.config["REDIS_URL"], "SECRET_KEY": app.config["SECRET_KEY"],
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "METRICS_TOKEN": "scrape-me"}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "-w", "3",
                             "-b", f"127.0.0.1:{port}", "app:create_app()"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_up(f"{url}/healthz")
        for _ in range(30):  # new connections: spread over the workers
            assert requests.get(f"{url}/healthz", timeout=5).status_code == 200
        answer = requests.get(f"{url}/metrics", headers={"Authorization": "Bearer scrape-me"},
                              timeout=10)
    finally:
        proc.terminate()
        proc.wait(15)
    assert answer.status_code == 200
    counted = re.search(r'tidings_http_requests_total\{endpoint="health.healthz",'
                        r'method="GET",status="200"\} (\S+)', answer.text)
    assert counted and float(counted.group(1)) >= 30  # every worker's share, added up
    assert not (metrics_dir / "left-from-last-run.db").exists()
    assert "tidings_queue_jobs" in answer.text
