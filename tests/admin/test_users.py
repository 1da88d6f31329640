"""The Users page: list, create, change role, deactivate and reactivate; admins only."""

import pytest
from sqlalchemy import select

from core.audit.models import AuditEvent
from core.auth.models import Role, User
from core.extensions import db
from tests.conftest import PASSWORD

HTMX = {"HX-Request": "true"}


def _flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _, message in session.pop("_flashes", [])]


def _user(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def test_list_shows_every_user_with_role_and_state(admin_client, make_user):
    make_user(Role.EDIT, email="eve@example.com", name="Eve Editor")
    make_user(Role.READ_ONLY, email="rob@example.com", name="Rob Reader", active=False)
    response = admin_client.get("/admin/users")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "eve@example.com" in body and "Eve Editor" in body
    assert "rob@example.com" in body and "inactive" in body
    assert 'href="/admin/users"' in body  # the nav link


def test_create_user(admin_client):
    response = admin_client.post("/admin/users/new", data={
        "email": "New.Person@Example.com", "name": "New Person", "role": "edit",
        "password": "twelve chars"})
    assert response.status_code == 303
    assert "Created new.person@example.com (Edit)." in _flashes(admin_client)
    user = db.session.scalar(select(User).where(User.email == "new.person@example.com"))
    assert user.role is Role.EDIT and user.check_password("twelve chars")


@pytest.mark.parametrize("data, message", [
    ({"email": "a@example.com", "role": "edit", "password": "short"},
     "The password must have at least 12 characters."),
    ({"email": "not-an-email", "role": "edit", "password": "twelve chars"},
     "Enter a valid email address."),
    ({"email": "a@example.com", "role": "boss", "password": "twelve chars"}, "Not a valid choice"),
])
def test_create_user_refuses_bad_input(admin_client, data, message):
    before = db.session.scalar(select(db.func.count()).select_from(User))
    response = admin_client.post("/admin/users/new", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count()).select_from(User)) == before


def test_create_user_refuses_a_duplicate_email(admin_client, make_user):
    make_user(Role.EDIT, email="taken@example.com")
    response = admin_client.post("/admin/users/new", data={
        "email": "TAKEN@example.com", "role": "edit", "password": "twelve chars"})
    assert response.status_code == 422
    assert "A user with email taken@example.com already exists." in response.get_data(as_text=True)


def test_change_role_plain_and_htmx(admin_client, make_user):
    eve = make_user(Role.EDIT)
    response = admin_client.post(f"/admin/users/{eve.id}/role", data={"role": "read_only"})
    assert response.status_code == 303
    assert _user(eve.id).role is Role.READ_ONLY
    response = admin_client.post(f"/admin/users/{eve.id}/role", data={"role": "admin"},
                                 headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr id="user-{eve.id}"')
    assert "is now Admin" in body and '<option value="admin" selected>' in body
    assert _user(eve.id).role is Role.ADMIN
    audit = db.session.scalars(select(AuditEvent.summary).where(
        AuditEvent.action == "user_role_changed")).all()
    assert any("Edit → Read Only" in s for s in audit)


def test_admin_cannot_demote_themself(admin_client):
    me = admin_client.user
    response = admin_client.post(f"/admin/users/{me.id}/role", data={"role": "edit"})
    assert response.status_code == 303
    assert "You cannot change your own role. Ask another admin to do it." in _flashes(admin_client)
    response = admin_client.post(f"/admin/users/{me.id}/role", data={"role": "none"},
                                 headers=HTMX)
    assert response.status_code == 422
    assert "You cannot change your own role" in response.get_data(as_text=True)
    assert _user(me.id).role is Role.ADMIN


def test_deactivate_and_reactivate(admin_client, client_for, client):
    staff = client_for(Role.EDIT)
    eve = staff.user
    assert staff.get("/import/").status_code == 200
    response = admin_client.post(f"/admin/users/{eve.id}/active", data={"active": "0"})
    assert response.status_code == 303
    assert _user(eve.id).active is False
    signed_out = staff.get("/import/")
    assert signed_out.status_code == 302 and "/login" in signed_out.location
    login = client.post("/login", data={"email": eve.email, "password": PASSWORD})
    assert "Wrong email or password." in login.get_data(as_text=True)

    response = admin_client.post(f"/admin/users/{eve.id}/active", data={"active": "1"},
                                 headers=HTMX)
    assert response.status_code == 200
    assert "can sign in again" in response.get_data(as_text=True)
    assert _user(eve.id).active is True
    assert client.post("/login", data={"email": eve.email, "password": PASSWORD}).status_code == 303


def test_admin_cannot_deactivate_themself(admin_client):
    me = admin_client.user
    response = admin_client.post(f"/admin/users/{me.id}/active", data={"active": "0"},
                                 headers=HTMX)
    assert response.status_code == 422
    assert "You cannot deactivate your own account." in response.get_data(as_text=True)
    assert _user(me.id).active is True


def test_missing_user_is_404(admin_client):
    assert admin_client.post("/admin/users/987654/role", data={"role": "edit"}).status_code == 404


@pytest.mark.parametrize("role", [Role.EDIT, Role.READ_ONLY, Role.NONE])
def test_non_admins_are_refused(client_for, make_user, role):
    target = make_user(Role.READ_ONLY)
    staff = client_for(role)
    assert staff.get("/admin/users").status_code == 403
    assert staff.post(f"/admin/users/{target.id}/role", data={"role": "admin"}).status_code == 403
    assert staff.post(f"/admin/users/{staff.user.id}/role",
                      data={"role": "admin"}).status_code == 403
    assert staff.post("/admin/users/new", data={
        "email": "x@example.com", "role": "admin", "password": "twelve chars"}).status_code == 403
    assert _user(target.id).role is Role.READ_ONLY
    assert _user(staff.user.id).role is role
