"""The client form and the client search."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, Form, SearchField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional

from core.clients.models import ContactMethod
from core.clients.operations import ClientData, timezone_names


class ClientForm(FlaskForm):
    """Create or edit a client; the mobile number is checked by core.clients.operations."""

    first_name = StringField(
        "First name", validators=[DataRequired("Enter the client's first name."), Length(max=80)]
    )
    last_name = StringField("Last name", validators=[Length(max=80)])
    company = StringField("Company", validators=[Length(max=120)])
    mobile = TelField(
        "Mobile", validators=[Length(max=40)], description="Any format; saved as +1 202 555 0123."
    )
    email = EmailField(
        "Email",
        validators=[Optional(), Email("Enter a valid email address."), Length(max=254)],
    )
    contact_method = SelectField(
        "Preferred contact", choices=[SelectChoice(m.value, m.label) for m in ContactMethod]
    )
    timezone = SelectField("Time zone", description="Blank: taken from the mobile number.")
    opted_out = BooleanField("Opted out of texts (replied STOP or asked us to stop)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = [SelectChoice("", "From the mobile number")] + [
            SelectChoice(name, name.replace("_", " ")) for name in timezone_names()
        ]

    def client_data(self) -> ClientData:
        """The cleaned values for core.clients.operations."""
        return ClientData(
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            company=self.company.data or "",
            mobile=self.mobile.data or "",
            email=self.email.data or "",
            contact_method=self.contact_method.data,
            timezone=self.timezone.data or "",
            opted_out=bool(self.opted_out.data),
        )


class SearchForm(Form):
    """The search box above the client list (a GET form, so no CSRF token)."""

    q = SearchField("Search", validators=[Optional(), Length(max=100)])
