"""The upload and confirmation forms of an import."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, Length, NumberRange, Optional

from core.appointments.importing.mapping import FIELDS


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


class MeForm(FlaskForm):
    """"This is me": an attendee address that is the business's own."""

    token = HiddenField(validators=[Length(min=1, max=64)])
    address = HiddenField(validators=[Email(check_deliverability=False), Length(max=254)])


class ConfirmForm(FlaskForm):
    token = HiddenField()
    partial = HiddenField()  # "1": import the valid rows and skip the rest


class MappingForm(FlaskForm):
    """The Tidings field of each column of an uploaded CSV, and how to read its dates."""

    token = HiddenField()
    columns = FieldList(SelectField(choices=[SelectChoice(*choice) for choice in FIELDS]))
    dates = SelectField("Dates like 3/4/2030 are", choices=[
        SelectChoice("auto", "as the file shows (else the business's region)"),
        SelectChoice("mdy", "month first: 3/4/2030 is March 4"),
        SelectChoice("dmy", "day first: 3/4/2030 or 3.4.2030 is 3 April"),
    ])
    default_minutes = IntegerField("Length when the file gives no end or duration (minutes)",
                                   default=30, validators=[NumberRange(1, 1440)])
    default_title = StringField("Title when the file gives none", default="Appointment",
                                validators=[Length(min=1, max=160)])
    remember = BooleanField("Remember this mapping for files with the same columns",
                            default=True)


class FeedForm(FlaskForm):
    """A calendar feed to sync by itself."""

    name = StringField("Name", validators=[Length(min=1, max=120)])
    url = StringField("Feed address (https://…)", validators=[Length(min=8, max=2000)],
                      description="Google Calendar's secret address in iCal format, an Outlook "
                                  "published calendar, or a practice system's feed.")
    own_addresses = StringField("Your own email addresses in it", validators=[
        Optional(), Length(max=1000)], description="Never taken as the client.")
    interval_minutes = IntegerField("Sync every (minutes)", default=15,
                                    validators=[NumberRange(5, 1440)])
    window_days = IntegerField("Days ahead", default=90, validators=[NumberRange(1, 366)])
    allow_private = BooleanField("Allow a private or local address (only for a server on "
                                 "your own network)")
