"""The reply box of a simulated phone."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from core.messaging.segments import MAX_SMS_CHARS

MAX_EMAIL_CHARS = 20_000


class ReplyForm(FlaskForm):
    """What the client types back; an email reply may also carry a subject, and either may
    carry a picture or file (a phone then sends a picture message)."""

    subject = StringField("Subject", validators=[Optional(), Length(max=200)])
    text = TextAreaField("Reply", validators=[Length(max=MAX_EMAIL_CHARS)])
    attachment = FileField("Attach a picture or file")

    def __init__(self, *args, channel: str = "sms", **kwargs):
        super().__init__(*args, **kwargs)
        self.channel = channel

    def has_attachment(self) -> bool:
        return bool(self.attachment.data and getattr(self.attachment.data, "filename", ""))

    def validate_text(self, field) -> None:
        """A reply needs words or a file; a text stops at the SMS ceiling, an email may not."""
        if not (field.data or "").strip() and not self.has_attachment():
            raise ValidationError("Type a reply or attach a file.")
        if self.channel != "email" and len(field.data or "") > MAX_SMS_CHARS:
            raise ValidationError(f"A text can have at most {MAX_SMS_CHARS} characters.")
