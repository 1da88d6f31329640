"""Staff users and the four roles."""

import enum

from flask_login import UserMixin
from sqlalchemy import String, false
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from core.extensions import db
from core.types import UTCDateTime, utcnow


class Role(enum.IntEnum):
    """What a staff member may do; each role includes every lower one."""

    NONE = 0
    READ_ONLY = 1
    EDIT = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").title()

    @classmethod
    def parse(cls, text: str) -> "Role":
        """Turn 'admin', 'edit', 'read-only', 'read_only' or 'none' into a Role."""
        key = text.strip().upper().replace("-", "_").replace(" ", "_")
        try:
            return cls[key]
        except KeyError:
            raise ValueError(f"unknown role {text!r}; use admin, edit, read-only or none") from None


class User(UserMixin, db.Model):
    """A staff member who signs in to Tidings."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role_value: Mapped[int] = mapped_column("role", default=int(Role.NONE))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow)
    # Every session and remember cookie carries this number; raising it ends them all.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())

    @property
    def role(self) -> Role:
        return Role(self.role_value)

    @role.setter
    def role(self, value: Role) -> None:
        self.role_value = int(value)

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str:
        """The identity Flask-Login keeps in the session and remember cookie: id and generation."""
        return f"{self.id}:{self.session_version}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def can(self, role: Role) -> bool:
        """True when this user's role is at least `role`."""
        return self.role >= role
