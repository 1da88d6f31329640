"""The compose form and the form that edits a scheduled send."""

from datetime import datetime

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, Regexp

from core.messaging.recipients import ONE_PER_CLIENT
from core.messaging.templating import business_zone

CHANNELS = [
    SelectChoice("sms", "Text (SMS)"),
    SelectChoice("mms", "Picture message (MMS)"),
    SelectChoice("email", "Email"),
    SelectChoice("voice", "Voice call"),
]


class WhenMixin:
    """Send now, or at a date and time typed in the business time zone."""

    when = RadioField("When", choices=[SelectChoice("now", "Send now"),
                                       SelectChoice("later", "Schedule")], default="now")
    send_date = DateField("Date", validators=[Optional()])
    send_time = TimeField("Time", validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        """The usual checks, then: a scheduled send needs both a date and a time."""
        valid = super().validate(extra_validators)
        if self.when.data == "later":
            for field, message in ((self.send_date, "Choose the date to send on."),
                                   (self.send_time, "Choose the time to send at.")):
                if not field.data and not field.errors:
                    field.errors = [*field.errors, message]
                    valid = False
        return valid

    def send_at(self) -> datetime | None:
        """The chosen moment as an aware datetime, or None for "now"."""
        if self.when.data != "later" or not self.send_date.data or not self.send_time.data:
            return None
        return datetime.combine(self.send_date.data, self.send_time.data, business_zone())


class ComposeForm(WhenMixin, FlaskForm):
    """Who, how, what and when."""

    recipients = RadioField(
        "Send to",
        choices=[SelectChoice("selected", "Clients of the selected appointments"),
                 SelectChoice("person", "One person")],
        default="person",
    )
    # "Text this client" on an appointment: its merge fields, while that client stays picked.
    appointment_id = HiddenField()
    client_id = RadioField("Client", choices=[], coerce=str, validate_choice=False,
                           validators=[Optional()])
    client_query = StringField("Find a client", validators=[Optional(), Length(max=100)])
    address = StringField("Or type a number or email address",
                          validators=[Optional(), Length(max=254)])
    channel = RadioField("Send as", choices=CHANNELS, default="sms")
    subject = StringField("Subject", validators=[Optional(), Length(max=200)])
    body = TextAreaField("Message", validators=[Optional(), Length(max=20000)])
    images = MultipleFileField("Pictures (JPEG, PNG or GIF, up to 3, 600 KB each)")
    files = MultipleFileField("Attachments (PDF, JPEG, PNG or text, 5 MB each, 10 MB in all)")
    audio = FileField("Recording (MP3 or WAV, up to 5 MB) — instead of text-to-speech")
    # Secure messages (issue #4): the client gets a link to the portal instead of the text.
    secure = BooleanField("Send securely (the client gets a link, not the text)")
    secure_require_pin = BooleanField("Ask for a PIN")
    secure_pin = StringField(
        "PIN (4–8 digits)",
        validators=[Optional(), Regexp(r"^\d{4,8}$", message="The PIN must be 4 to 8 digits.")])
    secure_hours = IntegerField("Link lifetime (hours)", validators=[
        Optional(), NumberRange(1, 24 * 90, message="Between 1 hour and 90 days (2160 hours).")])
    outside_window = BooleanField("Send outside quiet hours anyway")
    email_fallback = BooleanField("Email clients who have no mobile number")
    per_appointment = BooleanField("One message per appointment (a client with several "
                                   "selected appointments gets several)")
    category = RadioField("Kind of message", default="transactional", choices=[
        SelectChoice("transactional", "Transactional: about an appointment or the service "
                                      "(closures, changes, reminders)"),
        SelectChoice("marketing", "Marketing: promotions, offers, newsletters (only clients "
                                  "who agreed to marketing)"),
    ], validate_choice=False)  # anything but marketing is transactional (options())

    def options(self) -> dict:
        """The send's options (core.messaging.compose.create_broadcast); by default a client
        with several selected appointments gets one message (ONE_PER_CLIENT)."""
        return {"outside_window": bool(self.outside_window.data),
                "email_fallback": bool(self.email_fallback.data),
                ONE_PER_CLIENT: not self.per_appointment.data,
                "category": "marketing" if self.category.data == "marketing"
                else "transactional"}


class EditForm(WhenMixin, FlaskForm):
    """What may change while a send waits: its text and its time."""

    subject = StringField("Subject", validators=[Optional(), Length(max=200)])
    body = TextAreaField("Message", validators=[Optional(), Length(max=20000)])
    when = RadioField("When", choices=[SelectChoice("later", "Scheduled for")], default="later")
    outside_window = BooleanField("Send outside quiet hours anyway")
