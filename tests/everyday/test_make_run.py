"""`make run` prints every demo sign-in the demo business has, with the password that works."""

import importlib.util
from pathlib import Path

from core.demo import DEMO_PASSWORD, STAFF_USERS

RUN = Path(__file__).resolve().parents[2] / "scripts" / "run.py"


def _run_script():
    spec = importlib.util.spec_from_file_location("tidings_run_script", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_run_prints_the_four_demo_sign_ins():
    printed = _run_script().sign_ins("5000")
    assert "http://127.0.0.1:5000" in printed and f"password {DEMO_PASSWORD}" in printed
    for email, _name, _role in STAFF_USERS:
        assert email in printed
    assert [line.split()[-1] for line in printed.splitlines()[2:] if line.strip()] == [
        email for email, _name, _role in STAFF_USERS]
