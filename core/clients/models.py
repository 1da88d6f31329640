"""A client of the business and how they want to be reached."""

import enum
from datetime import datetime

from sqlalchemy import Index, String, event, false, literal_column
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import Grouping

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


TRIGRAMS = "gin_trgm_ops"
# Few rows are written, so each goes straight into the index: with GIN's default pending list,
# a search after an import would read every new row in it, and the planner, which counts
# that list, would scan the table instead until the next VACUUM.
DIRECT = {"fastupdate": "off"}


def _kind_on_insert(context) -> str | None:
    return phones.kind(context.get_current_parameters().get("mobile"))


class Client(db.Model):
    """A person the business serves; mobile is stored in E.164."""

    __tablename__ = "clients"
    # Client search (migration 0009_client_search, PostgreSQL only): trigram indexes serve
    # "contains" (ILIKE '%…%', and LIKE for the digits of a mobile); FULL_NAME's is below.
    __table_args__ = tuple(
        Index(f"ix_clients_{column}_trgm", column, postgresql_using="gin",
              postgresql_ops={column: TRIGRAMS},
              postgresql_with=DIRECT).ddl_if(dialect="postgresql")
        for column in ("company", "email", "mobile")
    )

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
    # Marketing consent (migration 0019_usage): given when and how (import, form, keyword);
    # STOP withdraws it. Its history is on the client's audit events.
    marketing_consent: Mapped[bool] = mapped_column(server_default=false())
    marketing_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    marketing_consent_source: Mapped[str] = mapped_column(String(20), server_default="")
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


# The full name as the client search matches it, and its trigram index: one expression for
# both, with the space as SQL text rather than a bound parameter, so that PostgreSQL sees in
# the query the very expression the index is built on. The brackets are how PostgreSQL
# stores the index (|| groups to the left), so Alembic finds models and migrations agree;
# a plain + would flatten them away.
FULL_NAME = Grouping(Client.first_name + literal_column("' '")).op("||", return_type=String)(
    Client.last_name
)
Index("ix_clients_name_trgm", FULL_NAME.label("full_name"), postgresql_using="gin",
      postgresql_ops={"full_name": TRIGRAMS}, postgresql_with=DIRECT).ddl_if(dialect="postgresql")
