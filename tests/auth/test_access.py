"""Roles are enforced on every route by one mechanism: walk every route for every role."""

import pytest

from blueprints.access import PUBLIC, access_of
from core.auth.models import Role
from tests.access_table import ACCESS

SKIP_METHODS = {"HEAD", "OPTIONS"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        args = {name: _dummy(rule, name) for name in rule.arguments}
        for method in sorted(rule.methods - SKIP_METHODS):
            yield rule, method, args


def _dummy(rule, name):
    converter = rule._converters[name]
    if type(converter).__name__ in ("IntegerConverter", "NumberConverter"):
        return 987654
    return "no-such-thing"


def test_every_route_declares_its_access(app):
    """A route without a declaration is a bug: the table and the code must agree."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    undeclared = sorted(e for e in endpoints if access_of(e) is None)
    assert undeclared == []
    assert {e: access_of(e) for e in endpoints} == {e: ACCESS.get(e) for e in endpoints}


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: "anonymous" if r is None else r.name)
def test_route_walk(app, client_for, role):
    """Each role reaches exactly the routes its level allows; the others answer 403 or login."""
    wrong = []
    for rule, method, args in _routes(app):
        client = app.test_client() if role is None else client_for(role)
        url = rule.build(args, append_unknown=False)[1]
        response = client.open(url, method=method, headers={"Accept": "text/html"})
        required = ACCESS.get(rule.endpoint)
        allowed = required == PUBLIC or (role is not None and role >= required)
        if role is None and not allowed:
            refused = response.status_code == 302 and "/login" in response.location
        else:
            refused = response.status_code == 403
        if allowed == refused:
            wrong.append(f"{method} {url} as {role}: {response.status_code}")
    assert wrong == []
