"""Run the test suite on SQLite and on PostgreSQL (`make test`).

Both suites run side by side when PostgreSQL answers: each has its own Redis, database and
workers, and most of a suite's time is spent waiting on them, so two at once take little more
than one. TEST_PARALLEL=0 runs them one after the other, with live output.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

PG_URL = os.environ.get(
    "DATABASE_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# Not test-results/: pytest-playwright empties that folder when a session starts.
LOGS = Path(__file__).resolve().parents[1] / "test-logs"


def postgres_reachable() -> bool:
    """True when the PostgreSQL server for tests accepts a connection."""
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        print(f"PostgreSQL not reachable at {PG_URL.split('@')[-1]}: {type(exc).__name__}")
        return False


def command(backend: str, extra: list[str]) -> tuple[list[str], dict]:
    """The pytest command line and environment of one backend's suite."""
    env = {**os.environ, "TIDINGS_TEST_DB": backend, "DATABASE_TEST_URL": PG_URL}
    # Browser flows are database-agnostic; they run once, on SQLite.
    marks = ["-m", "not browser"] if backend == "postgresql" else []
    # The 15 slowest tests close each run, so a creeping test is seen before it hurts.
    return [sys.executable, "-m", "pytest", "--durations=15", *marks, *extra], env


def run_one(backend: str, extra: list[str]) -> int:
    """One suite with its output live on the terminal."""
    print(f"\n=== test suite on {backend} ===", flush=True)
    args, env = command(backend, extra)
    return subprocess.call(args, env=env)


def run_side_by_side(backends: list[str], extra: list[str]) -> int:
    """Every suite at once, each into its own log, printed whole when all are done."""
    LOGS.mkdir(exist_ok=True)
    started = time.monotonic()
    running = {}
    for backend in backends:
        args, env = command(backend, extra)
        log = (LOGS / f"{backend}.log").open("w")
        running[backend] = (subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT),
                            log)
    print(f"running the suite on {', '.join(backends)} side by side "
          f"(logs in {LOGS.name}/) ...", flush=True)
    codes = {}
    for backend, (proc, log) in running.items():
        codes[backend] = proc.wait()
        log.close()
    for backend in backends:
        print(f"\n=== test suite on {backend} (exit {codes[backend]}) ===", flush=True)
        sys.stdout.write((LOGS / f"{backend}.log").read_text())
    print(f"\nboth suites took {time.monotonic() - started:.0f} s", flush=True)
    return next((code for code in codes.values() if code), 0)


def main(argv: list[str]) -> int:
    backends = ["sqlite"]
    if postgres_reachable():
        backends.append("postgresql")
    elif os.environ.get("TIDINGS_REQUIRE_POSTGRES"):
        print("TIDINGS_REQUIRE_POSTGRES is set but PostgreSQL is not reachable")
        return 1
    if len(backends) == 1 or os.environ.get("TEST_PARALLEL", "1") == "0":
        codes = [run_one(backend, argv) for backend in backends]
        return next((code for code in codes if code), 0)
    return run_side_by_side(backends, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
