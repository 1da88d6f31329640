"""Forms of the Conversations pages: reply, assign, settings, and the filter bar."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from core.conversations.queries import RESPONSES, STATES
from core.messaging.segments import MAX_SMS_CHARS


class ReplyForm(FlaskForm):
    """A staff reply: a text, and optionally one picture (sent as MMS)."""

    body = TextAreaField("Reply", validators=[
        DataRequired(message="Type a reply."),
        Length(max=MAX_SMS_CHARS, message=f"A text can have at most {MAX_SMS_CHARS} characters."),
    ])
    image = FileField("Picture (optional, JPEG, PNG or GIF)")


class AssignForm(FlaskForm):
    """Whom the conversation belongs to (0: nobody)."""

    user_id = SelectField("Assigned to", coerce=int, validate_choice=True)


class ActionForm(FlaskForm):
    """A CSRF-only form for the one-button actions (read/unread, close/reopen)."""


class FilterForm(FlaskForm):
    """The filter bar of the list (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=100)],
                    description="Client name, company, mobile or job number")
    response = SelectField("Response", default="",
                           choices=[SelectChoice(k, v) for k, v in RESPONSES.items()])
    state = SelectField("Show", default="open",
                        choices=[SelectChoice(k, v) for k, v in STATES.items()])
    date_from = DateField("Texts from", validators=[Optional()])
    date_to = DateField("to", validators=[Optional()])
    mine = BooleanField("Assigned to me")


class SettingsForm(FlaskForm):
    """The two-way texting switches."""

    twoway_enabled = BooleanField("Two-way texting: clients may reply to our texts")
    twoway_reply_after_client = BooleanField(
        "Staff may reply only after the client has written first")
    autoreply_thanks = BooleanField("Answer “You're welcome” to a thank-you")
    autoreply_unrecognised = BooleanField("Answer “Sorry, I didn't understand” to other texts")
    autoreply_no_replies = BooleanField(
        "When two-way texting is off, answer “This number does not accept replies”")

    KEYS = ("twoway_enabled", "twoway_reply_after_client", "autoreply_thanks",
            "autoreply_unrecognised", "autoreply_no_replies")
