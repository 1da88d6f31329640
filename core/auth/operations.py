"""Creating staff accounts and checking sign-ins."""

import re

from sqlalchemy import func, select

from core.audit.operations import record
from core.auth.models import Role, User
from core.extensions import db

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8


class UserError(ValueError):
    """A staff account could not be created as asked."""


def find_by_email(email: str) -> User | None:
    """The user with this email, compared case-insensitively."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(email: str, password: str, role: Role, name: str = "") -> User:
    """Create a staff account; refuses bad emails, short passwords and duplicates."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise UserError(f"{email!r} is not a valid email address")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must have at least {MIN_PASSWORD} characters")
    if find_by_email(email):
        raise UserError(f"a user with email {email} already exists")
    user = User(email=email, name=name or email.split("@")[0].title())
    user.role = role
    user.set_password(password)
    db.session.add(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None."""
    user = find_by_email(email)
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def change_role(user: User, role: Role, *, by: User) -> None:
    """Give a user another role; an admin cannot demote themself (so an admin always remains)."""
    if user.id == by.id and role != user.role:
        raise UserError("You cannot change your own role. Ask another admin to do it.")
    if role == user.role:
        return
    record("user_role_changed", f"{user.email}: {user.role.label} → {role.label}", actor=by,
           data={"user_id": user.id, "from": user.role.name, "to": role.name})
    user.role = role


def set_active(user: User, active: bool, *, by: User) -> None:
    """Deactivate (no more sign-ins) or reactivate an account; never one's own."""
    if user.id == by.id and not active:
        raise UserError("You cannot deactivate your own account. Ask another admin to do it.")
    if user.active == active:
        return
    action = "user_reactivated" if active else "user_deactivated"
    record(action, user.email, actor=by, data={"user_id": user.id})
    user.active = active
