"""The one mechanism that enforces roles on every route.

Every view declares its minimum role with @requires(Role.X) or marks itself @public.
A view that declares nothing is refused to everyone (fail closed), and the route-walk
test fails until it declares.
"""

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from core.auth.models import Role

PUBLIC = "public"


def requires(role: Role):
    """Allow the view to signed-in users whose role is at least `role`."""

    def mark(view):
        view.access = role
        return view

    return mark


def public(view):
    """Allow the view to anyone, signed in or not (login page, webhooks, portal)."""
    view.access = PUBLIC
    return view


def access_of(endpoint: str):
    """The declared access of an endpoint, or None when it declared nothing."""
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "access", None)


def enforce_access():
    """before_request hook: refuse the request unless the user's role allows the endpoint."""
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static":
        return None
    rule = access_of(endpoint)
    if rule == PUBLIC:
        return None
    if rule is None:
        abort(403)
    if not current_user.is_authenticated:
        return _to_login()
    if not current_user.can(rule):
        abort(403)
    return None


def _to_login():
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if request.headers.get("HX-Request") == "true":
        response = current_app.response_class(status=401)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)
