"""Sessions end on the server: sign-out, a password change, role None and deactivation end
every session and remember cookie of the user, even ones captured before."""

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from core.auth.models import Role
from tests.conftest import PASSWORD

NEW_PASSWORD = "a fresh long passphrase"


def _sign_in(app, user, password=PASSWORD):
    """A new browser signed in through the form with "keep me signed in"; returns it and the
    cookies it holds."""
    browser = app.test_client()
    response = browser.post("/login", data={"email": user.email, "password": password,
                                            "remember": "y"})
    assert response.status_code == 303
    return browser, {name: browser.get_cookie(name).value
                     for name in ("session", "remember_token")}


def _replay(app, name: str, value: str):
    """A new browser holding only one captured cookie; the answer to a staff page."""
    browser = app.test_client()
    browser.set_cookie(name, value)
    return browser.get("/appointments")


def _works(response) -> bool:
    return response.status_code == 200


def test_captured_cookies_work_until_sign_out_and_never_after(app, make_user):
    user = make_user(Role.EDIT)
    browser, cookies = _sign_in(app, user)
    assert _works(_replay(app, "session", cookies["session"]))
    assert _works(_replay(app, "remember_token", cookies["remember_token"]))
    assert browser.post("/logout").status_code == 303
    for name, value in cookies.items():
        response = _replay(app, name, value)
        assert response.status_code == 302 and "/login" in response.location, name


def test_sign_out_ends_the_sessions_of_the_user_on_other_devices(app, make_user):
    user = make_user(Role.EDIT)
    laptop, _ = _sign_in(app, user)
    phone, _ = _sign_in(app, user)
    laptop.post("/logout")
    assert phone.get("/appointments").status_code == 302


def test_a_password_change_ends_other_sessions_and_keeps_this_one(app, make_user):
    user = make_user(Role.EDIT)
    laptop, _ = _sign_in(app, user)
    phone, cookies = _sign_in(app, user)
    response = laptop.post("/account/password", data={
        "current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 303
    assert _works(laptop.get("/appointments"))
    assert phone.get("/appointments").status_code == 302
    assert _replay(app, "remember_token", cookies["remember_token"]).status_code == 302


@pytest.mark.parametrize("action, data", [("role", {"role": "none"}), ("active", {"active": "0"})])
def test_role_none_and_deactivation_end_every_session(app, make_user, admin_client, action, data):
    user = make_user(Role.EDIT)
    browser, cookies = _sign_in(app, user)
    assert admin_client.post(f"/admin/users/{user.id}/{action}", data=data).status_code == 303
    assert browser.get("/appointments").status_code == 302
    for name, value in cookies.items():
        assert _replay(app, name, value).status_code == 302, name


def test_another_role_change_keeps_the_session(app, make_user, admin_client):
    user = make_user(Role.EDIT)
    browser, _ = _sign_in(app, user)
    admin_client.post(f"/admin/users/{user.id}/role", data={"role": "read_only"})
    assert _works(browser.get("/appointments"))


def _remember_expiry(app, user) -> datetime:
    browser = app.test_client()
    response = browser.post("/login", data={"email": user.email, "password": PASSWORD,
                                            "remember": "y"})
    header = next(h for h in response.headers.getlist("Set-Cookie")
                  if h.startswith("remember_token="))
    expires = next(part for part in header.split("; ") if part.startswith("Expires="))
    return parsedate_to_datetime(expires.removeprefix("Expires="))


def test_keep_me_signed_in_lasts_30_days_by_default(app, make_user):
    expiry = _remember_expiry(app, make_user(Role.EDIT))
    assert abs(expiry - datetime.now(UTC) - timedelta(days=30)) < timedelta(minutes=5)


def test_keep_me_signed_in_length_is_a_setting(app_config, _schema, make_user):
    from app import create_app

    short = create_app({**app_config, "REMEMBER_COOKIE_DAYS": 7})
    with short.app_context():
        expiry = _remember_expiry(short, make_user(Role.EDIT))
    assert abs(expiry - datetime.now(UTC) - timedelta(days=7)) < timedelta(minutes=5)
