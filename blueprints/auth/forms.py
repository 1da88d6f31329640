"""The sign-in and change-password forms."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from core.auth.passwords import MIN_LENGTH


class LoginForm(FlaskForm):
    # No format check: signing in only looks the address up, and email_validator refuses the
    # reserved .test domain of the demo accounts (admin@tidings.test).
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Keep me signed in")


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[
        DataRequired("Enter your current password."), Length(max=200)])
    new = PasswordField("New password", validators=[DataRequired("Enter a new password.")],
                        description=f"At least {MIN_LENGTH} characters; not a common password.")
    confirm = PasswordField("New password again", validators=[
        DataRequired("Type the new password again."),
        EqualTo("new", "The two new passwords differ.")])
