"""The upload and confirmation forms of an import."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField


class UploadForm(FlaskForm):
    file = FileField(
        "CSV or iCal file",
        validators=[FileRequired("Choose a .csv or .ics file to import.")],
        description="A spreadsheet saved as CSV (UTF-8), or a calendar exported as .ics.",
    )


class ConfirmForm(FlaskForm):
    token = HiddenField()
