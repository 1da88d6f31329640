"""Creating staff accounts, checking sign-ins, changing passwords, roles and access."""

import re
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from core.audit.operations import record
from core.auth import passwords, throttle
from core.auth.models import Role, User
from core.auth.sessions import end_sessions
from core.extensions import db

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = passwords.MIN_LENGTH


class UserError(ValueError):
    """A staff account could not be created or changed as asked."""


class PasswordError(UserError):
    """A new password that the rules refuse (too short, too common, unchanged)."""


def find_by_email(email: str) -> User | None:
    """The user with this email, compared case-insensitively."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(email: str, password: str, role: Role, name: str = "") -> User:
    """Create a staff account; refuses bad emails, short passwords and duplicates."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise UserError(f"{email!r} is not a valid email address")
    if passwords.problem(password):
        raise PasswordError(passwords.problem(password))
    if find_by_email(email):
        raise UserError(f"a user with email {email} already exists")
    user = User(email=email, name=name or email.split("@")[0].title())
    user.role = role
    user.set_password(password)
    db.session.add(user)
    return user


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash("no account has this password")


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None; as slow for an unknown address."""
    user = find_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(), password)  # so timing does not tell who exists
        return None
    if not user.check_password(password) or not user.active:
        return None
    return user


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: the user, or how long the account must wait (seconds)."""

    user: User | None = None
    wait: int = 0


def sign_in(email: str, password: str) -> SignIn:
    """Check credentials under the per-account limit; audits the failure that locks (caller
    commits)."""
    wait = throttle.wait_seconds(email)
    if wait:
        check_password_hash(_dummy_hash(), password)  # a waiting account answers as slowly
        return SignIn(wait=wait)
    user = authenticate(email, password)
    if user is not None:
        throttle.clear(email)
        return SignIn(user)
    return SignIn(wait=throttle.WINDOW_SECONDS) if _count_failure(email) else SignIn()


def _count_failure(email: str) -> bool:
    """Count a wrong password for this account; True (and an audit row) when it must wait."""
    if not throttle.record_failure(email):
        return False
    address = email.strip().lower()[:254]
    record("signin_locked", f"{address}: {throttle.MAX_FAILURES} wrong passwords; the account "
           "waits 15 minutes", data={"email": address})
    return True


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one; ends every other session.

    Wrong current passwords count against the account's sign-in limit, so a borrowed session
    cannot be used to guess it."""
    if throttle.wait_seconds(user.email):
        raise UserError("Too many wrong passwords for this account. Wait 15 minutes and try "
                        "again, or ask an admin.")
    if not user.check_password(current):
        _count_failure(user.email)
        raise UserError("The current password is wrong.")
    problem = passwords.problem(new)
    if problem:
        raise PasswordError(problem[0].upper() + problem[1:] + ".")
    if user.check_password(new):
        raise PasswordError("The new password must differ from the current one.")
    user.set_password(new)
    user.must_change_password = False
    end_sessions(user)
    record("user_password_changed", user.email, actor=user, data={"user_id": user.id})


def force_password_reset(user: User, *, by: User) -> None:
    """Make a user choose a new password at their next sign-in; ends their sessions now."""
    if user.id == by.id:
        raise UserError("Change your own password on the Change password page.")
    user.must_change_password = True
    end_sessions(user)
    record("user_password_reset_forced", user.email, actor=by, data={"user_id": user.id})


def change_role(user: User, role: Role, *, by: User) -> None:
    """Give a user another role; an admin cannot demote themself (so an admin always remains)."""
    if user.id == by.id and role != user.role:
        raise UserError("You cannot change your own role. Ask another admin to do it.")
    if role == user.role:
        return
    record("user_role_changed", f"{user.email}: {user.role.label} → {role.label}", actor=by,
           data={"user_id": user.id, "from": user.role.name, "to": role.name})
    user.role = role
    if role == Role.NONE:
        end_sessions(user)


def set_active(user: User, active: bool, *, by: User) -> None:
    """Deactivate (no more sign-ins) or reactivate an account; never one's own."""
    if user.id == by.id and not active:
        raise UserError("You cannot deactivate your own account. Ask another admin to do it.")
    if user.active == active:
        return
    action = "user_reactivated" if active else "user_deactivated"
    record(action, user.email, actor=by, data={"user_id": user.id})
    user.active = active
    if not active:
        end_sessions(user)
