"""Sign-in and sign-out routes."""

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from blueprints.access import public, requires
from blueprints.auth import bp
from blueprints.auth.forms import LoginForm
from core.auth.models import Role
from core.auth.operations import authenticate
from core.extensions import limiter


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str:
    """Only follow a relative `next` on this site, never an absolute URL."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return url_for("dashboard.index")
    if not urlsplit(target).netloc:
        return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Show the sign-in form and sign the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user:
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")), code=303)
        form.password.errors.append("Wrong email or password.")
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@requires(Role.NONE)
def logout():
    """Sign the user out."""
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("auth.login"), code=303)
