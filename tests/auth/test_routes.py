"""Signing in and out, and the login rate limit."""

from core.auth.models import Role
from tests.conftest import PASSWORD


def test_login_with_right_password_reaches_the_app(client, make_user):
    user = make_user(Role.EDIT)
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 303
    assert client.get("/", follow_redirects=False).status_code in (200, 302)


def test_login_with_wrong_password_says_so(client, make_user):
    user = make_user(Role.EDIT)
    response = client.post("/login", data={"email": user.email, "password": "nope-nope"})
    assert response.status_code == 200
    assert b"Wrong email or password." in response.data
    assert client.get("/").status_code == 302


def test_login_ignores_offsite_next(client, make_user):
    user = make_user(Role.READ_ONLY)
    response = client.post(
        "/login?next=https://evil.example/", data={"email": user.email, "password": PASSWORD}
    )
    assert response.location == "/"


def test_role_none_sees_no_access_page(client_for):
    response = client_for(Role.NONE).get("/")
    assert response.status_code == 200
    assert b"No access yet" in response.data


def test_logout_ends_the_session(client_for):
    client = client_for(Role.ADMIN)
    assert client.post("/logout").status_code == 303
    assert client.get("/").status_code == 302


def test_security_headers_and_vary(client):
    response = client.get("/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "HX-Request" in response.headers["Vary"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_login_is_rate_limited_on_redis(app_config, _schema, make_user):
    """After the limit, further attempts get 429 even with the right password."""
    from app import create_app

    limited = create_app(
        {**app_config, "RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "3 per minute"}
    )
    client = limited.test_client()
    user = make_user(Role.EDIT)
    codes = [
        client.post("/login", data={"email": user.email, "password": "wrong-pass"}).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 200]
    final = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert final.status_code == 429
    assert b"Too many attempts" in final.data


def test_csrf_is_required_when_enabled(app_config, _schema, make_user):
    from app import create_app

    strict = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    user = make_user(Role.EDIT)
    response = strict.test_client().post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert b"form expired" in response.data.lower()
