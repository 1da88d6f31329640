"""The public address: `make run` sets it from its port, and the Settings page warns an admin
who uses Tidings at another address than the one links are sent with."""

import importlib.util
from pathlib import Path

from core import settings
from core.extensions import db

RUN = Path(__file__).resolve().parents[2] / "scripts" / "run.py"


def run_script():
    spec = importlib.util.spec_from_file_location("tidings_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def settings_page(client, host: str, scheme: str = "http") -> str:
    """The Settings page as an admin sees it at scheme://host."""
    cookie = client.get_cookie("session", domain="localhost")
    client.set_cookie("session", cookie.value, domain=host.split(":")[0])
    page = client.get("/settings/", headers={"Host": host},
                      environ_overrides={"wsgi.url_scheme": scheme})
    assert page.status_code == 200
    return page.get_data(as_text=True)


def set_public_url(url: str) -> None:
    settings.set("public_url", url)
    db.session.commit()


def test_make_run_sets_the_public_address_from_the_port_it_serves():
    run = run_script()
    assert run.with_public_address({}, "5123")["PUBLIC_BASE_URL"] == "http://127.0.0.1:5123"
    kept = {"PUBLIC_BASE_URL": "https://tidings.example.com"}
    assert run.with_public_address(kept, "5123")["PUBLIC_BASE_URL"] == \
        "https://tidings.example.com"


def test_settings_warns_when_the_public_address_is_not_the_one_in_use(admin_client):
    set_public_url("https://tidings.example.com")
    html = settings_page(admin_client, "127.0.0.1:5123")
    assert 'id="address-warning"' in html
    assert "https://tidings.example.com" in html and "http://127.0.0.1:5123" in html


def test_no_warning_when_the_admin_uses_the_public_address(admin_client):
    set_public_url("https://tidings.example.com/")
    html = settings_page(admin_client, "tidings.example.com", "https")
    assert 'id="address-warning"' not in html


def test_another_port_on_the_same_host_is_a_mismatch(app, admin_client):
    app.config["PUBLIC_BASE_URL"] = "http://127.0.0.1:5000"
    assert 'id="address-warning"' in settings_page(admin_client, "127.0.0.1:5001")
    assert 'id="address-warning"' not in settings_page(admin_client, "127.0.0.1:5000")
