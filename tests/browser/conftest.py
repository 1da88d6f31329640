"""Browser fixtures: the app served on a free loopback port, driven by Debian's Chromium."""

import os
import shutil
import socket
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from app import create_app

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
# `make screenshots` (TIDINGS_SCREENSHOTS=docs) redraws the README's pictures; an ordinary test
# run writes them to an ignored folder, so `make test` leaves the working tree as it found it.
SCREENSHOTS = (ROOT / "docs" / "screenshots" if os.environ.get("TIDINGS_SCREENSHOTS") == "docs"
               else ROOT / "tests" / "screenshots-tmp")

pytestmark = pytest.mark.browser

# `make test` runs both database suites side by side on two cores, each with its own Chromium,
# live server and workers: a page can take longer than Playwright's default 5 s to show what a
# step waits for. A step that never shows it still fails, after 15 s.
expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
                item.add_marker(pytest.mark.skip(reason=f"no Chromium at {CHROMIUM}"))


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """Debian's Chromium, headless, with no background traffic (the network is closed)."""
    return {
        "executable_path": CHROMIUM,
        "headless": True,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"],
    }


@pytest.fixture(scope="session")
def browser_context_args():
    return {"viewport": {"width": 1280, "height": 860}, "locale": "en-US"}


@pytest.fixture
def live_server(app, app_config):
    """Serve a second app instance (same database and Redis) in a thread for the browser."""
    served = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = make_server("127.0.0.1", port, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def signed_in(page, live_server, make_user):
    """A page signed in through the real login form, as an admin by default."""
    from core.auth.models import Role
    from tests.conftest import PASSWORD

    def sign_in(role: Role = Role.ADMIN):
        log_in(page, live_server, make_user(role).email, PASSWORD)
        return page

    return sign_in


def log_in(page, live_server: str, email: str, password: str) -> None:
    """Sign `page` in through the real login form and wait for the page it lands on."""
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


# The README's pictures drawn from the demo business (tests/browser/test_readme_demo.py); a
# feature test's picture of the same name goes to the ignored folder, never over them.
DEMO_PICTURES = {"login", "appointments", "compose", "mass-send", "outbox", "message-detail",
                 "simulator", "conversations", "client-card", "secure-portal-reveal",
                 "secure-portal-pin", "secure-portal-message", "secure-status", "settings"}
SCRATCH = ROOT / "tests" / "screenshots-tmp"


def screenshot(page, name: str) -> None:
    """Save a screenshot of the current page (docs/screenshots/<name>.png with
    TIDINGS_SCREENSHOTS=docs, else tests/screenshots-tmp/)."""
    folder = SCRATCH if name in DEMO_PICTURES else SCREENSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=False)


def readme_screenshot(page, name: str) -> None:
    """A README picture from the demo business: the whole page, caret hidden."""
    assert name in DEMO_PICTURES, name
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True, caret="hide",
                    animations="disabled")
