"""Forms of the Users page."""

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from core.auth.models import Role
from core.auth.operations import MIN_PASSWORD

ROLE_CHOICES = [SelectChoice(role.name.lower(), role.label) for role in sorted(Role, reverse=True)]


class CreateUserForm(FlaskForm):
    email = EmailField("Email", validators=[
        DataRequired("Enter an email address."), Email("Enter a valid email address."),
        Length(max=254)])
    name = StringField("Name", validators=[Optional(), Length(max=120)])
    role = SelectField("Role", choices=ROLE_CHOICES, default="read_only",
                       validators=[InputRequired()])
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter a password."),
                    Length(min=MIN_PASSWORD, max=200,
                           message=f"The password must have at least {MIN_PASSWORD} characters.")],
        description=f"At least {MIN_PASSWORD} characters, not a common password; tell it to the "
                    "person privately.",
    )


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES,
                       validators=[InputRequired("Choose a role.")])


class ActiveForm(FlaskForm):
    active = SelectField("Active", validators=[InputRequired()],
                         choices=[SelectChoice("1", "active"), SelectChoice("0", "inactive")])
