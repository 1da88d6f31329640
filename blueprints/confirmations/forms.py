"""Forms of confirmations: the change by hand and the settings."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from core.appointments.models import ConfirmationStatus

CHOICES = [SelectChoice(s.value, s.label) for s in ConfirmationStatus]


class ChangeForm(FlaskForm):
    """A staff member sets the confirmation status and says why."""

    status = SelectField("Confirmation", choices=CHOICES)
    reason = StringField("Reason", validators=[
        DataRequired(message="Say why the confirmation status changes."), Length(max=300)],
        description="e.g. “Client phoned to confirm”")


class SettingsForm(FlaskForm):
    """The sending window and what a confirmation answer does."""

    sending_window_start = TimeField("Texts and calls from", validators=[InputRequired()])
    sending_window_end = TimeField("until", validators=[InputRequired()],
                                   description="In each client's own time zone. The same time "
                                   "twice means no quiet hours.")
    confirmation_cancel_on_no = BooleanField("Cancel appointments when the client answers NO")
    confirmation_timeout_hours = IntegerField(
        "No response after (hours)", validators=[InputRequired(), NumberRange(0, 24 * 30)],
        description="An unanswered request becomes No response after this many hours, or when "
        "the appointment starts (0: only then).")

    def values(self) -> dict:
        """The settings as stored."""
        return {
            "sending_window_start": self.sending_window_start.data.strftime("%H:%M"),
            "sending_window_end": self.sending_window_end.data.strftime("%H:%M"),
            "confirmation_cancel_on_no": bool(self.confirmation_cancel_on_no.data),
            "confirmation_timeout_hours": self.confirmation_timeout_hours.data,
        }
