"""The search-and-filter form of the Outbox and Inbox (a GET form: no CSRF token)."""

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SearchField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, Regexp, ValidationError

from core.messaging.models import Channel, Status
from core.messaging.queries import RESPONSES, Filters, local_day_bounds

CHANNELS = [SelectChoice("", "Any channel")] + [
    SelectChoice(c.value, c.value.upper()) for c in Channel
]
OUTBOUND_STATUSES = [SelectChoice("", "Any status")] + [
    SelectChoice(s.value, s.value.capitalize()) for s in Status if s != Status.RECEIVED
]


class MessageFilterForm(FlaskForm):
    """Search text, channel and a date range in the business time zone."""

    class Meta:
        csrf = False

    q = SearchField(
        "Search",
        validators=[Optional(), Length(max=200, message="Search at most 200 characters.")],
    )
    channel = SelectField("Channel", choices=CHANNELS, default="")
    date_from = DateField("From", validators=[Optional()])
    date_to = DateField("To", validators=[Optional()])
    folder = HiddenField(
        "Folder",
        validators=[Optional(), Regexp(r"^(all|other|appointments|b?\d{1,18})$",
                                       message="Unknown folder.")]
    )

    def validate_date_to(self, field):
        """A range must not end before it starts."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("“To” is before “From”.")

    def filters(self, tz: str) -> Filters:
        """The validated input as query filters (local dates become UTC bounds)."""
        since, until = local_day_bounds(self.date_from.data, self.date_to.data, tz)
        status = self.status.data if "status" in self else None
        response = self.response.data if "response" in self else None
        return Filters(
            q=(self.q.data or "").strip(),
            status=status or None,
            channel=self.channel.data or None,
            since=since,
            until=until,
            folder=self.folder.data or None,
            response=response or None,
        )


class OutboxFilterForm(MessageFilterForm):
    """The Outbox adds a delivery-status filter."""

    status = SelectField("Status", choices=OUTBOUND_STATUSES, default="")
    response = SelectField("Response", default="", choices=[SelectChoice("", "Any response")] + [
        SelectChoice(key, label) for key, label in RESPONSES.items()
    ])
