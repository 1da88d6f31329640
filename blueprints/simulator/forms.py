"""The reply box of a simulated phone."""

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from core.messaging.segments import MAX_SMS_CHARS

MAX_EMAIL_CHARS = 20_000


class ReplyForm(FlaskForm):
    """What the client types back; an email reply may also carry a subject."""

    subject = StringField("Subject", validators=[Optional(), Length(max=200)])
    text = TextAreaField(
        "Reply", validators=[DataRequired(message="Type a reply."), Length(max=MAX_EMAIL_CHARS)]
    )

    def __init__(self, *args, channel: str = "sms", **kwargs):
        super().__init__(*args, **kwargs)
        self.channel = channel

    def validate_text(self, field) -> None:
        """A text message stops at the SMS ceiling; an email may be longer."""
        if self.channel != "email" and len(field.data or "") > MAX_SMS_CHARS:
            raise ValidationError(f"A text can have at most {MAX_SMS_CHARS} characters.")
