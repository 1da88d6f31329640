"""Sign-in, sign-out and change-password routes."""

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from blueprints.access import PUBLIC, access_of, public, requires
from blueprints.auth import bp
from blueprints.auth.forms import ChangePasswordForm, LoginForm
from core.auth.models import Role
from core.auth.operations import PasswordError, UserError, change_password, sign_in
from core.auth.sessions import end_sessions
from core.extensions import db, limiter

# What a user who must choose a new password may still reach.
PASSWORD_GATE_OPEN = {"auth.change_password", "auth.logout", "auth.login", "static"}


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
        result = sign_in(form.email.data, form.password.data)
        db.session.commit()  # the audit row of a lock
        if result.user:
            login_user(result.user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")), code=303)
        form.password.errors.append(_refusal(result.wait))
    return render_template("auth/login.html", form=form)


def _refusal(wait: int) -> str:
    if not wait:
        return "Wrong email or password."
    minutes = max(1, -(-wait // 60))
    return (f"Too many failed sign-ins for this account. Wait {minutes} minute"
            f"{'s' if minutes != 1 else ''} and try again, or ask an admin.")


@bp.route("/logout", methods=["POST"])
@requires(Role.NONE)
def logout():
    """Sign the user out everywhere: every session and remember cookie of theirs ends."""
    end_sessions(current_user)
    db.session.commit()
    logout_user()
    flash("You are signed out.")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/account/password", methods=["GET", "POST"], endpoint="change_password")
@requires(Role.NONE)
@limiter.limit(_login_limit, methods=["POST"])
def change_password_view():
    """Change one's own password (the current one is required); other sessions end."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current.data, form.new.data)
        except UserError as exc:
            db.session.commit()  # the audit row of a lock
            field = form.new if isinstance(exc, PasswordError) else form.current
            field.errors.append(str(exc))
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # this browser stays signed in
            flash("Your password is changed; other sessions were signed out.", "success")
            return redirect(url_for("dashboard.index"), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/password.html", form=form), status


@bp.before_app_request
def password_gate():
    """A user whose password an admin reset must choose a new one before anything else."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in PASSWORD_GATE_OPEN or access_of(endpoint) == PUBLIC:
        return None
    if not (current_user.is_authenticated and current_user.must_change_password):
        return None
    target = url_for("auth.change_password")
    if request.headers.get("HX-Request") == "true":  # a fragment must not hold the page
        return current_app.response_class(status=204, headers={"HX-Redirect": target})
    return redirect(target)
