"""Sign-in throttling per account (on top of per address), equal timing for unknown accounts,
and client addresses behind a trusted proxy only."""

import time

from sqlalchemy import select

from core.audit.models import AuditEvent
from core.auth.models import Role
from core.extensions import db
from tests.conftest import PASSWORD

WAIT = "Too many failed sign-ins for this account. Wait 15 minutes"


def _post(client, email, password, address="10.0.0.1"):
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_ten_failures_from_many_addresses_make_the_account_wait(client, make_user):
    user = make_user(Role.EDIT)
    for n in range(10):
        page = _post(client, user.email, f"wrong guess {n}", f"10.0.1.{n}").get_data(True)
    assert WAIT in page
    response = _post(client, user.email, PASSWORD, "10.0.2.1")  # even the right password
    assert response.status_code == 200 and WAIT in response.get_data(as_text=True)
    assert client.get("/appointments").status_code == 302
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "signin_locked")).all()
    assert len(events) == 1 and user.email in events[0].summary


def test_nine_failures_do_not_lock_and_a_success_starts_the_count_again(client, make_user):
    user = make_user(Role.EDIT)
    for n in range(9):
        _post(client, user.email, f"wrong guess {n}")
    assert _post(client, user.email, PASSWORD).status_code == 303
    client.post("/logout")
    for n in range(9):
        assert WAIT not in _post(client, user.email, f"again {n}").get_data(as_text=True)


def test_the_wait_is_per_account(client, make_user):
    locked, other = make_user(Role.EDIT), make_user(Role.EDIT)
    for n in range(10):
        _post(client, locked.email, f"wrong guess {n}")
    assert _post(client, other.email, PASSWORD).status_code == 303


def test_an_unknown_account_is_limited_and_answered_alike(client):
    pages = [_post(client, "nobody@example.com", f"guess {n}").get_data(True) for n in range(11)]
    assert "Wrong email or password." in pages[0]
    assert WAIT in pages[-1]


def _slowest_of_fastest(client, email: str) -> float:
    timings = []
    for n in range(3):
        start = time.perf_counter()
        _post(client, email, f"wrong password {n}")
        timings.append(time.perf_counter() - start)
    return min(timings)


def test_an_unknown_account_takes_as_long_as_a_real_one(client, make_user):
    user = make_user(Role.EDIT)
    real = _slowest_of_fastest(client, user.email)
    unknown = _slowest_of_fastest(client, "nobody@example.com")
    # Before the dummy hash an unknown account answered ~15x faster (no scrypt at all).
    assert unknown > real * 0.4, (real, unknown)


def _limited_app(app_config, **config):
    from app import create_app

    return create_app({**app_config, "RATELIMIT_ENABLED": True,
                       "LOGIN_RATE_LIMIT": "3 per minute", **config})


def _codes(client, user, forwarded_for: list[str]) -> list[int]:
    return [client.post("/login", data={"email": user.email, "password": "wrong-pass"},
                        headers={"X-Forwarded-For": address}).status_code
            for address in forwarded_for]


def test_x_forwarded_for_is_ignored_without_trusted_proxies(app_config, _schema, make_user):
    client = _limited_app(app_config).test_client()
    user = make_user(Role.EDIT)
    # A forged header per request does not make a new address: the 4th try is refused.
    assert _codes(client, user, ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"]) == [
        200, 200, 200, 429]


def test_behind_a_trusted_proxy_the_forwarded_address_counts(app_config, _schema, make_user):
    client = _limited_app(app_config, TRUSTED_PROXIES=1).test_client()
    user = make_user(Role.EDIT)
    assert _codes(client, user, ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"]) == [200] * 4
    assert _codes(client, user, ["1.1.1.1"] * 3) == [200, 200, 429]
