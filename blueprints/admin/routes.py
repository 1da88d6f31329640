"""The Users page: list staff, create accounts, change roles, deactivate and reactivate,
force a password reset."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from blueprints.access import requires
from blueprints.admin import bp
from blueprints.admin.forms import ROLE_CHOICES, ActiveForm, CreateUserForm, RoleForm
from blueprints.rendering import is_htmx, render
from core.auth.models import Role, User
from core.auth.operations import (
    PasswordError,
    UserError,
    change_role,
    create_user,
    force_password_reset,
    set_active,
)
from core.extensions import db


def _users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.active.desc(), User.email)))


def _page(form: CreateUserForm, status: int = 200):
    return render("admin/users.html", "admin/_users.html", users=_users(), form=form,
                  roles=ROLE_CHOICES), status


def _row_done(user: User, error: str = "", message: str = ""):
    """After a row action: the row fragment for htmx, else a flash and a 303 to the list."""
    if is_htmx():
        html = render_template("admin/_user_row.html", user=user, roles=ROLE_CHOICES,
                               error=error, message=message)
        return html, 422 if error else 200
    flash(error or message, "error" if error else "success")
    return redirect(url_for("admin.users"), code=303)


@bp.route("/users")
@requires(Role.ADMIN)
def users():
    """Every staff account with its role and whether it may sign in."""
    return _page(CreateUserForm())


@bp.route("/users/new", methods=["POST"], endpoint="create_user")
@requires(Role.ADMIN)
def create_user_view():
    """Create a staff account."""
    form = CreateUserForm()
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.password.data,
                               Role[form.role.data.upper()], form.name.data or "")
        except UserError as exc:
            field = form.password if isinstance(exc, PasswordError) else form.email
            field.errors.append(str(exc)[0].upper() + str(exc)[1:] + ".")
        else:
            db.session.commit()
            flash(f"Created {user.email} ({user.role.label}).", "success")
            return redirect(url_for("admin.users"), code=303)
    return _page(form, 422)


@bp.route("/users/<int:user_id>/role", methods=["POST"], endpoint="change_role")
@requires(Role.ADMIN)
def change_role_view(user_id: int):
    """Give a staff member another role."""
    user = db.get_or_404(User, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _row_done(user, error="Choose a role.")
    role = Role[form.role.data.upper()]
    try:
        change_role(user, role, by=current_user)
    except UserError as exc:
        return _row_done(user, error=str(exc))
    db.session.commit()
    return _row_done(user, message=f"{user.email} is now {user.role.label}.")


@bp.route("/users/<int:user_id>/active", methods=["POST"], endpoint="set_active")
@requires(Role.ADMIN)
def set_active_view(user_id: int):
    """Deactivate or reactivate a staff account."""
    user = db.get_or_404(User, user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        return _row_done(user, error="Choose active or inactive.")
    try:
        set_active(user, form.active.data == "1", by=current_user)
    except UserError as exc:
        return _row_done(user, error=str(exc))
    db.session.commit()
    state = "can sign in again" if user.active else "is deactivated and cannot sign in"
    return _row_done(user, message=f"{user.email} {state}.")


@bp.route("/users/<int:user_id>/reset", methods=["POST"], endpoint="force_reset")
@requires(Role.ADMIN)
def force_reset_view(user_id: int):
    """Sign a staff member out everywhere and make them choose a new password."""
    user = db.get_or_404(User, user_id)
    try:
        force_password_reset(user, by=current_user)
    except UserError as exc:
        return _row_done(user, error=str(exc))
    db.session.commit()
    return _row_done(user, message=f"{user.email} is signed out and must choose a new "
                                   "password at the next sign-in.")
