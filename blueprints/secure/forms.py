"""Forms of the staff side of secure messages."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, ValidationError

UNITS = {"hours": 1, "days": 24}
MAX_HOURS = 24 * 90


class SecureSettingsForm(FlaskForm):
    """Admins: turn secure messaging on and word its notices."""

    enabled = BooleanField("Enable secure messaging")
    pin_required = BooleanField("Require a PIN by default (Compose starts with it ticked)")
    lifetime = IntegerField("Default link lifetime", validators=[
        DataRequired("Give the default link lifetime."),
        NumberRange(1, MAX_HOURS, message="Give a whole number of hours or days.")])
    lifetime_unit = SelectField("Unit", default="hours", choices=[
        SelectChoice("hours", "hours"), SelectChoice("days", "days")])
    email_subject = StringField("Notice email subject", validators=[
        DataRequired("Write the subject."), Length(max=200)])
    email_body = TextAreaField("Notice email body (must contain {{ link }})", validators=[
        DataRequired("Write the email body."), Length(max=5000)])
    sms_body = TextAreaField("Notice text message (must contain {{ link }})", validators=[
        DataRequired("Write the text notice."), Length(max=600)])

    @classmethod
    def from_config(cls, values: dict) -> "SecureSettingsForm":
        """The form for the stored settings, the lifetime in days when it is whole days."""
        hours = int(values["lifetime_hours"])
        days = hours % 24 == 0
        return cls(data={**values, "lifetime": hours // 24 if days else hours,
                         "lifetime_unit": "days" if days else "hours"})

    def validate_lifetime(self, field) -> None:
        """Between one hour and 90 days, whatever the unit."""
        hours = (field.data or 0) * UNITS.get(self.lifetime_unit.data, 1)
        if not 1 <= hours <= MAX_HOURS:
            raise ValidationError("The lifetime must be between 1 hour and 90 days.")

    def lifetime_hours(self) -> int:
        """The lifetime as typed, in hours."""
        return self.lifetime.data * UNITS[self.lifetime_unit.data]


class ActionForm(FlaskForm):
    """A bare form for the CSRF token of revoke, unlock and resend."""
