"""Passwords: change one's own (current one required), 12 characters, no common password,
and an admin's forced reset."""

import pytest
from sqlalchemy import select

from core.audit.models import AuditEvent
from core.auth import passwords
from core.auth.models import Role, User
from core.demo import DEMO_PASSWORD
from core.extensions import db
from tests.conftest import PASSWORD

NEW = "a fresh long passphrase"


def _change(client, current=PASSWORD, new=NEW, confirm=None):
    return client.post("/account/password", data={
        "current": current, "new": new, "confirm": new if confirm is None else confirm})


def _user(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def _signs_in(app, email: str, password: str) -> bool:
    response = app.test_client().post("/login", data={"email": email, "password": password})
    return response.status_code == 303


@pytest.mark.parametrize("role", list(Role))
def test_every_signed_in_user_has_the_change_password_page(client_for, role):
    response = client_for(role).get("/account/password")
    assert response.status_code == 200
    assert "Change password" in response.get_data(as_text=True)


def test_changing_the_password(app, client_for):
    client = client_for(Role.READ_ONLY)
    response = _change(client)
    assert response.status_code == 303
    assert _signs_in(app, client.user.email, NEW)
    assert not _signs_in(app, client.user.email, PASSWORD)
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "user_password_changed")) is not None


@pytest.mark.parametrize("kwargs, message", [
    ({"current": "not my password"}, "The current password is wrong."),
    ({"new": "short pass"}, "at least 12 characters"),
    ({"new": "qwertyuiop12"}, "most common passwords"),  # listed: qwertyuiop
    ({"new": "Baseball2024!"}, "most common passwords"),  # listed word with digits around
    ({"new": "contortionist"}, "most common passwords"),  # listed as it is
    ({"confirm": "something else entirely"}, "The two new passwords differ."),
    ({"new": PASSWORD}, "must differ from the current one"),
])
def test_a_refused_password_change_says_why(app, client_for, kwargs, message):
    client = client_for(Role.EDIT)
    response = _change(client, **kwargs)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _signs_in(app, client.user.email, PASSWORD)


def test_the_passwords_in_use_meet_the_rules():
    assert passwords.problem(PASSWORD) is None
    assert passwords.problem(DEMO_PASSWORD) is None
    assert len(passwords.common_passwords()) == 10_000


def test_new_accounts_need_twelve_characters_and_no_common_password(admin_client, runner):
    response = admin_client.post("/admin/users/new", data={
        "email": "a@example.com", "role": "edit", "password": "password1234"})
    assert response.status_code == 422
    assert "most common passwords" in response.get_data(as_text=True)
    result = runner.invoke(args=["users", "create", "b@example.com"], input="elevenchars\n")
    assert result.exit_code != 0 and "at least 12 characters" in result.output


def test_an_admin_forces_a_reset(app, admin_client, make_user):
    user = make_user(Role.EDIT)
    browser = app.test_client()
    browser.post("/login", data={"email": user.email, "password": PASSWORD})
    response = admin_client.post(f"/admin/users/{user.id}/reset", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "must choose a new password" in response.get_data(as_text=True)
    assert browser.get("/appointments").status_code == 302  # their session ended
    assert _user(user.id).must_change_password
    # At the next sign-in every page leads to the change-password page until it is done.
    assert browser.post("/login", data={"email": user.email, "password": PASSWORD}).status_code \
        == 303
    response = browser.get("/appointments")
    assert response.status_code == 302 and response.location.endswith("/account/password")
    assert browser.get("/messages/outbox").location.endswith("/account/password")
    fragment = browser.get("/messages/outbox", headers={"HX-Request": "true"})
    assert fragment.status_code == 204
    assert fragment.headers["HX-Redirect"].endswith("/account/password")
    assert "An admin asked you" in browser.get("/account/password").get_data(as_text=True)
    assert _change(browser).status_code == 303
    assert browser.get("/appointments").status_code == 200
    assert not _user(user.id).must_change_password


def test_an_admin_cannot_force_their_own_reset(admin_client):
    response = admin_client.post(f"/admin/users/{admin_client.user.id}/reset",
                                 headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert not _user(admin_client.user.id).must_change_password


@pytest.mark.parametrize("role", [Role.EDIT, Role.READ_ONLY])
def test_only_admins_force_a_reset(client_for, make_user, role):
    target = make_user(Role.EDIT)
    assert client_for(role).post(f"/admin/users/{target.id}/reset").status_code == 403
    assert not _user(target.id).must_change_password


def test_wrong_current_passwords_count_against_the_account(app, client_for):
    client = client_for(Role.EDIT)
    for n in range(10):
        _change(client, current=f"a wrong guess {n}")
    response = _change(client)  # now even the right current password waits
    assert response.status_code == 422
    assert "Too many wrong passwords for this account" in response.get_data(as_text=True)
    assert _signs_in(app, client.user.email, PASSWORD) is False  # sign-in waits too
    assert db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "signin_locked")) is not None
