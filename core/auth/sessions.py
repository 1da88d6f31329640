"""Sessions that end on the server: each user has a generation that every session carries.

Flask-Login keeps `User.get_id()` ("id:generation") in the session and in the remember
cookie; the user loader refuses an identity whose generation is no longer the user's, so
raising it (sign-out, password change, role None, deactivation) ends every session at once.
"""

from core.auth.models import User
from core.extensions import db


def user_for(identity: str) -> User | None:
    """The active user a session or remember cookie names, while its generation is current.

    An identity without a generation (a plain id) counts as generation 0."""
    user_id, _, version = (identity or "").partition(":")
    if not user_id.isdigit() or (version and not version.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version or 0):
        return None
    return user


def end_sessions(user: User) -> None:
    """End every session and remember cookie of `user` (the caller commits)."""
    user.session_version = User.session_version + 1  # in SQL: parallel bumps both count
    db.session.flush()
    db.session.refresh(user)
