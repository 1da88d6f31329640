"""A client of the business and how they want to be reached."""

import enum
from datetime import datetime

from sqlalchemy import String, event
from sqlalchemy.orm import Mapped, mapped_column

from core import phones
from core.extensions import db
from core.types import UTCDateTime, utcnow


class ContactMethod(enum.StrEnum):
    """How the client prefers to hear from the business."""

    TEXT = "text"
    EMAIL = "email"
    DO_NOT_CONTACT = "none"

    @property
    def label(self) -> str:
        return {"text": "Text", "email": "Email", "none": "Do Not Contact"}[self.value]


def _kind_on_insert(context) -> str | None:
    return phones.kind(context.get_current_parameters().get("mobile"))


class Client(db.Model):
    """A person the business serves; mobile is stored in E.164."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80), default="")
    company: Mapped[str] = mapped_column(String(120), default="")
    mobile: Mapped[str | None] = mapped_column(String(20), index=True)
    # 'mobile', 'landline' or 'invalid' (migration 0005): worked out whenever the mobile is
    # written, through the ORM or a Core INSERT, so a mass send need not parse every number.
    # NULL (a row written otherwise) means "not known yet": the plan checks the number itself.
    mobile_kind: Mapped[str | None] = mapped_column(String(10), default=_kind_on_insert)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    contact_method: Mapped[str] = mapped_column(String(10), default=ContactMethod.TEXT)
    timezone: Mapped[str | None] = mapped_column(String(64))
    opted_out: Mapped[bool] = mapped_column(default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unknown_sender: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def method(self) -> ContactMethod:
        return ContactMethod(self.contact_method)


@event.listens_for(Client.mobile, "set")
def _mobile_changed(client, value, _old, _initiator):
    client.mobile_kind = phones.kind(value)
