"""The appointment form, the status control and the list filters."""

from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeLocalField, Form, SearchField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from core.appointments.models import AppointmentStatus, ConfirmationStatus

STATUS_CHOICES = [SelectChoice(s.value, s.label) for s in AppointmentStatus]
CONFIRMATION_CHOICES = [SelectChoice(s.value, s.label) for s in ConfirmationStatus]
# Browsers send "2025-03-04T09:30"; the first format is also how the value is rendered.
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class AppointmentForm(FlaskForm):
    """Create or edit an appointment; times are wall-clock times in the business time zone."""

    client_id = SelectField("Client", coerce=int, validate_choice=False)
    start_at = DateTimeLocalField(
        "Start", format=LOCAL_FORMATS,
        validators=[InputRequired("Enter the start date and time.")],
    )
    end_at = DateTimeLocalField(
        "End", format=LOCAL_FORMATS, validators=[InputRequired("Enter the end date and time.")]
    )
    title = StringField(
        "Title or service", validators=[DataRequired("Enter a title or service."), Length(max=160)]
    )
    staff = StringField("Staff", validators=[Length(max=120)])
    location = StringField("Location", validators=[Length(max=200)])
    status = SelectField("Status", choices=STATUS_CHOICES)
    job_number = StringField(
        "Job number", validators=[Length(max=40)],
        description="Several appointments may share one job number.",
    )

    def validate_client_id(self, field):
        if not field.data:
            raise ValidationError("Choose a client.")

    def validate_end_at(self, field):
        if self.start_at.data and field.data and field.data <= self.start_at.data:
            raise ValidationError("The end must be after the start.")


class StatusForm(FlaskForm):
    """The status control on an appointment."""

    status = SelectField("Status", choices=STATUS_CHOICES)


class FilterForm(Form):
    """The filters above the appointment list (a GET form, so no CSRF token)."""

    start = DateField("From", validators=[Optional()])
    end = DateField("To", validators=[Optional()])
    q = SearchField("Search", validators=[Optional(), Length(max=100)])
    status = SelectField(
        "Status", choices=[SelectChoice("", "Any status"), *STATUS_CHOICES], default=""
    )
    confirmation = SelectField(
        "Confirmation", choices=[SelectChoice("", "Any confirmation"), *CONFIRMATION_CHOICES],
        default="")

    def validate_end(self, field):
        if self.start.data and field.data and field.data < self.start.data:
            raise ValidationError("“To” is before “From”.")
