"""The message template form."""

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from core.automation.models import TemplateKind
from core.automation.templates import CHANNELS

KIND_CHOICES = [SelectChoice(k.value, k.label) for k in TemplateKind]
CHANNEL_CHOICES = [SelectChoice(value, label) for value, label in CHANNELS.items()]


class TemplateForm(FlaskForm):
    """Name, kind, channel, subject (email) and body; the operations check the rest."""

    name = StringField("Name", validators=[Length(max=120)])
    kind = SelectField("Kind", choices=KIND_CHOICES, default="general")
    channel = SelectField("Channel", choices=CHANNEL_CHOICES, default="sms")
    subject = StringField("Subject (email)", validators=[Length(max=200)])
    body = TextAreaField("Message")
