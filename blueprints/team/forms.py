"""Forms of the Team pages: a message, a group, a member, the settings."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange

from core.team.operations import MAX_LENGTH


class MessageForm(FlaskForm):
    """A message to a chat (also used to edit one)."""

    body = TextAreaField("Message", validators=[
        DataRequired(message="Write something first."),
        Length(max=MAX_LENGTH, message=f"A message holds at most {MAX_LENGTH:,} characters."),
    ])


class GroupForm(FlaskForm):
    """A new group: its name and first members."""

    name = StringField("Group name", validators=[DataRequired(message="Give the group a name."),
                                                 Length(max=80)])
    members = SelectMultipleField("Members", coerce=int)


class PersonForm(FlaskForm):
    """One staff member (a direct chat, or a member to add)."""

    user_id = SelectField("Staff member", coerce=int)


class ShareForm(FlaskForm):
    """Share a client conversation into a chat."""

    chat_id = SelectField("Chat", coerce=int)
    body = TextAreaField("Note (optional)", validators=[Length(max=MAX_LENGTH)])


class SettingsForm(FlaskForm):
    """Admin settings of the staff chat."""

    retention_days = IntegerField("Keep staff chat for (days)", validators=[
        NumberRange(min=1, max=36500, message="Between 1 and 36,500 days.")])
    announce_chat_id = SelectField("Announce new unassigned client replies in", coerce=int)
