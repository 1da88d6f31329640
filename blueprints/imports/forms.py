"""The upload and confirmation forms of an import."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, IntegerField, StringField
from wtforms.validators import Length, NumberRange, Optional


class UploadForm(FlaskForm):
    file = FileField(
        "CSV or iCal file",
        validators=[FileRequired("Choose a .csv or .ics file to import.")],
        description="A spreadsheet saved as CSV (UTF-8), or a calendar exported as .ics.",
    )
    own_addresses = StringField(
        "Your own email addresses (calendars)",
        validators=[Optional(), Length(max=1000)],
        description="The calendar owner's or organizer's addresses, separated by commas: never "
                    "taken as the client, so the client is the other attendee. Remembered.",
    )
    window_start = DateField("Repeating events: from", validators=[Optional()],
                             description="Each visit of a repeating event becomes an "
                                         "appointment; empty means today.")
    window_days = IntegerField("for how many days", default=90,
                               validators=[Optional(), NumberRange(1, 366)])


class ConfirmForm(FlaskForm):
    token = HiddenField()
    partial = HiddenField()  # "1": import the valid rows and skip the rest
