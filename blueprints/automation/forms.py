"""The rule form, the status buttons and the confirmation request form."""

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from core import phones
from core.automation.models import RuleKind, Timing
from core.automation.rules import STATUS_TRIGGERS

KIND_CHOICES = [SelectChoice(k.value, k.label) for k in RuleKind]
TIMING_CHOICES = [SelectChoice(Timing.DAYS_BEFORE.value, "Days before, at a daily time"),
                  SelectChoice(Timing.HOURS_BEFORE.value, "Hours before the start"),
                  SelectChoice(Timing.HOURS_AFTER.value, "Hours after (follow-up)"),
                  SelectChoice(Timing.ON_STATUS.value, "On a status change")]


class RuleForm(FlaskForm):
    """Kind, template, who, when, on/off; the operations check the combination."""

    name = StringField("Name", validators=[Length(max=120)])
    kind = SelectField("Sends", choices=KIND_CHOICES)
    template_id = SelectField("Template", coerce=int, validate_choice=False)
    timing = SelectField("When", choices=TIMING_CHOICES)
    amount = IntegerField("How many (days or hours)", validators=[Optional()], default=2)
    send_time = StringField("Daily time (business time zone)", default="09:00",
                            validators=[Length(max=5)])
    after = SelectField("Follow-up counts from", choices=[
        SelectChoice("completed", "The moment it is marked Completed"),
        SelectChoice("end", "The end of any appointment that was not cancelled")])
    status_trigger = SelectField("Status", choices=[SelectChoice("", "—"), *(
        SelectChoice(k, v) for k, v in STATUS_TRIGGERS.items())])
    staff = StringField("Only staff", validators=[Length(max=120)])
    location = StringField("Only location containing", validators=[Length(max=200)])
    title_contains = StringField("Only titles containing", validators=[Length(max=160)])
    enabled = BooleanField("On", default=True)


class FieldStatusForm(FlaskForm):
    """One of the big status buttons."""

    status = StringField()


class ConfirmForm(FlaskForm):
    """A confirmation request: which visit, which template, the editable text."""

    visit = RadioField("Visit to confirm", coerce=int, validate_choice=False)
    template_id = SelectField("Template", coerce=int, validate_choice=False)
    channel = SelectField("Send as", choices=[SelectChoice("sms", "Text (SMS)"),
                                              SelectChoice("email", "Email")])
    subject = StringField("Subject (email)", validators=[Length(max=200)])
    body = TextAreaField("Message")
    other_mobile = StringField(
        "Or text another contact", validators=[Length(max=40)],
        description="A mobile number (e.g. a parent or the site contact); leave it blank to "
        "ask the client. Their YES or NO answers the visit chosen.")

    def validate_other_mobile(self, field) -> None:
        """A mobile that can take texts, kept in E.164; only by text."""
        if not (field.data or "").strip():
            field.data = ""
            return
        if self.channel.data != "sms":
            raise ValidationError("Another contact gets a text: choose Text (SMS).")
        try:
            field.data = phones.mobile_e164(field.data, current_app.config.get(
                "DEFAULT_REGION", "US"))
        except phones.PhoneError as exc:
            raise ValidationError(str(exc)) from None
