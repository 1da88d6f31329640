"""Forms of the staff side of secure messages."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange


class SecureSettingsForm(FlaskForm):
    """Admins: turn secure messaging on and word its notices."""

    enabled = BooleanField("Enable secure messaging")
    pin_required = BooleanField("Require a PIN on every secure message")
    lifetime_hours = IntegerField("Default link lifetime (hours)", validators=[
        DataRequired("Give the lifetime in hours."),
        NumberRange(1, 24 * 90, message="Between 1 hour and 90 days (2160 hours).")])
    email_subject = StringField("Notice email subject", validators=[
        DataRequired("Write the subject."), Length(max=200)])
    email_body = TextAreaField("Notice email body (must contain {{ link }})", validators=[
        DataRequired("Write the email body."), Length(max=5000)])
    sms_body = TextAreaField("Notice text message (must contain {{ link }})", validators=[
        DataRequired("Write the text notice."), Length(max=600)])


class ActionForm(FlaskForm):
    """A bare form for the CSRF token of revoke, unlock and resend."""
