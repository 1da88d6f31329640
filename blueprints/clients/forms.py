"""The client form and the client search."""

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, Form, SearchField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from core import settings
from core.clients import zones
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
    timezone = SelectField("Time zone", description="Blank: taken from the mobile number.",
                           validate_choice=False)
    opted_out = BooleanField("Opted out of texts (replied STOP or asked us to stop)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = getattr(kwargs.get("obj"), "timezone", "") or ""  # never the posted value
        self.timezone_groups = zone_groups(stored)
        self.timezone.choices = [SelectChoice("", "From the mobile number")] + [
            SelectChoice(value, label) for _, options in self.timezone_groups
            for value, label in options
        ]

    def validate_timezone(self, field) -> None:
        """Only a zone on the list (or the client's current one) may be saved."""
        if field.data and field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(f"“{field.data}” is not a time zone people live in; "
                                  "choose one from the list.")

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


def business_country() -> str:
    """The business's country: that of its time zone, else the default phone region."""
    return (zones.country_of(settings.business_timezone())
            or current_app.config.get("DEFAULT_REGION", "US"))


def zone_groups(current: str = "") -> list[tuple[str, list[tuple[str, str]]]]:
    """The zone list in groups: the business's country first, then every other zone (each
    labelled with its country, so a search by country finds it), then UTC. A client's zone that
    is valid but not listed (an old alias such as "US/Eastern") stays selectable."""
    country = business_country()
    home, rest = zones.for_country(country)
    groups = []
    if home:
        groups.append((zones.countries().get(country, country),
                       [(z.name, f"{z.city} — {z.comment or z.country_name}") for z in home]))
    groups.append(("Other countries", [
        (z.name, f"{z.name.replace('_', ' ')} — {z.country_name}"
                 + (f", {z.comment}" if z.comment else "")) for z in rest]))
    extra = [(zones.UTC_ZONE, "UTC — Coordinated Universal Time")]
    if current and not zones.is_listed(current) and current in timezone_names():
        extra.append((current, f"{current.replace('_', ' ')} (the client's current zone)"))
    groups.append(("Other", extra))
    return groups


class SearchForm(Form):
    """The search box above the client list (a GET form, so no CSRF token)."""

    q = SearchField("Search", validators=[Optional(), Length(max=100)])
