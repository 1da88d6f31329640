"""Forms of the secure-message portal."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, TextAreaField
from wtforms.validators import DataRequired, Length


class RevealForm(FlaskForm):
    """The "tap to reveal" button (a POST, so link-preview bots never count as a view)."""


class PinForm(FlaskForm):
    """The PIN the client was given by another way than the link."""

    pin = PasswordField("PIN", validators=[DataRequired("Type the PIN you were given."),
                                           Length(max=8, message="The PIN has at most 8 digits.")])


class ReplyForm(FlaskForm):
    """The client's one reply."""

    body = TextAreaField("Your reply", validators=[
        DataRequired("Write your reply first."),
        Length(max=2000, message="The reply is too long: 2,000 characters at most.")])


class RequestLinkForm(FlaskForm):
    """Ask the business for a new link."""
