"""Run the test suite on SQLite, then on PostgreSQL when one answers (`make test`)."""

import os
import subprocess
import sys

PG_URL = os.environ.get(
    "DATABASE_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


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


def pytest(backend: str, extra: list[str]) -> int:
    env = {**os.environ, "TIDINGS_TEST_DB": backend, "DATABASE_TEST_URL": PG_URL}
    print(f"\n=== test suite on {backend} ===", flush=True)
    # The 15 slowest tests close each run, so a creeping test is seen before it hurts.
    return subprocess.call([sys.executable, "-m", "pytest", "--durations=15", *extra], env=env)


def main(argv: list[str]) -> int:
    code = pytest("sqlite", argv)
    if postgres_reachable():
        # Browser flows are database-agnostic; they run once, on SQLite.
        code = pytest("postgresql", ["-m", "not browser", *argv]) or code
    elif os.environ.get("TIDINGS_REQUIRE_POSTGRES"):
        print("TIDINGS_REQUIRE_POSTGRES is set but PostgreSQL is not reachable")
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
