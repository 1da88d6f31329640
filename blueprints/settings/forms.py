"""Forms of the Settings page: Vonage, email (SMTP), business, and the test message.

Secret fields are never filled in: left blank they keep the stored value; a "remove" box
deletes it. Each form's `changes(current)` returns only what differs from the current values.
"""

import re
import uuid
import zoneinfo
from urllib.parse import urlsplit

from flask import current_app
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileSize
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from core import phones
from core.providers.vonage import pkcs8_pem

ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                      r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
KEEP_SPACES = {"smtp_password"}  # a mail password may really begin or end with a space
NO_SPACES = Regexp(r"^\S+$", message="It cannot contain spaces.")
METHOD_LABELS = {"md5hash": "MD5 hash (Vonage's default)", "md5": "MD5 HMAC",
                 "sha1": "SHA-1 HMAC", "sha256": "SHA-256 HMAC", "sha512": "SHA-512 HMAC"}


def _region() -> str:
    return current_app.config.get("DEFAULT_REGION", "US")


def _number(text: str) -> str:
    """A phone number typed by an admin, in E.164, or a ValidationError with the reason."""
    try:
        return phones.to_e164(text, _region())
    except phones.PhoneError as exc:
        raise ValidationError(str(exc)) from None


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class SecretTextAreaField(TextAreaField):
    """A text area that never echoes what was typed (a pasted private key stays unseen)."""

    def _value(self) -> str:
        return ""


class _SettingsForm(FlaskForm):
    """Fields named like their setting; secret fields come with a clear_<name> box."""

    class Meta:
        def bind_field(self, form, unbound_field, options):
            """Strip surrounding spaces from every text field (pasted credentials have them)."""
            text = issubclass(unbound_field.field_class, StringField)
            keep = options.get("name") in KEEP_SPACES or "filters" in unbound_field.kwargs
            if text and not keep:
                options["filters"] = [_strip]
            return unbound_field.bind(form=form, **options)

    SETTING_FIELDS: tuple[str, ...] = ()
    SECRET_FIELDS: tuple[str, ...] = ()

    def values(self) -> dict:
        """Plain (non-secret) values as they will be stored."""
        return {name: getattr(self, name).data for name in self.SETTING_FIELDS}

    def changes(self, current: dict) -> dict:
        """The settings to write: changed plain values, new secrets, removed secrets."""
        result = {k: v for k, v in self.values().items() if (v or "") != (current.get(k) or "")}
        for name in self.SECRET_FIELDS:
            if getattr(self, f"clear_{name}").data:
                result[name] = None
            elif self.secret_value(name):
                result[name] = self.secret_value(name)
        return result

    def secret_value(self, name: str) -> str:
        value = getattr(self, name).data or ""
        return value if name in KEEP_SPACES else value.strip()


class VonageForm(_SettingsForm):
    SETTING_FIELDS = ("vonage_api_key", "vonage_signature_method", "vonage_application_id",
                      "vonage_from", "vonage_voice_from", "public_url")
    SECRET_FIELDS = ("vonage_api_secret", "vonage_signature_secret", "vonage_private_key")

    vonage_api_key = StringField("API key", validators=[
        Optional(), Regexp(r"^[A-Za-z0-9]{4,40}$",
                           message="An API key is 4 to 40 letters and digits (e.g. 1a2b3c4d).")])
    vonage_api_secret = PasswordField("API secret", validators=[
        Optional(), Length(min=6, max=128, message="The API secret has 6 to 128 characters."),
        NO_SPACES])
    clear_vonage_api_secret = BooleanField("Remove the stored API secret")
    vonage_signature_secret = PasswordField("Signature secret", validators=[
        Optional(), Length(min=8, max=200, message="The signature secret has 8 to 200 characters."),
        NO_SPACES],
        description="Vonage → API settings → Signed webhooks. Receipts and replies are "
                    "accepted only when signed with it.")
    clear_vonage_signature_secret = BooleanField("Remove the stored signature secret")
    vonage_signature_method = SelectField("Signature method", default="md5hash",
                                          choices=[SelectChoice(k, label)
                                                   for k, label in METHOD_LABELS.items()],
                                          validators=[InputRequired()])
    vonage_application_id = StringField("Application id", validators=[Optional()],
                                        description="Needed for voice calls and MMS.")
    vonage_private_key = SecretTextAreaField("Private key (paste)", validators=[
        Optional(), Length(max=10_000)], render_kw={"rows": 4, "autocomplete": "off"})
    vonage_private_key_file = FileField("…or upload private.key", validators=[
        FileSize(max_size=10_000, message="A private key file is smaller than 10 KB.")])
    clear_vonage_private_key = BooleanField("Remove the stored private key")
    vonage_from = StringField("Default sender", validators=[Optional(), Length(max=20)],
                              description="Your Vonage number in E.164 (+15551234567) or a "
                                          "sender name of up to 11 letters and digits.")
    vonage_voice_from = StringField("Caller number for calls", validators=[Optional()],
                                    description="A Vonage number in E.164; the default sender "
                                                "is used when it is a number.")
    public_url = StringField("Public address of Tidings", validators=[Optional(), Length(max=200)],
                             description="e.g. https://tidings.example.com — where Vonage sends "
                                         "receipts and fetches pictures and recordings.")

    def validate_vonage_application_id(self, field):
        try:
            field.data = str(uuid.UUID(field.data))
        except ValueError:
            raise ValidationError("An application id looks like "
                                  "aaaaaaaa-bbbb-cccc-dddd-123456789abc.") from None

    def validate_vonage_from(self, field):
        if field.data.startswith("+") or field.data.replace(" ", "").isdigit():
            field.data = _number(field.data)
        elif not ALPHANUMERIC_SENDER.match(field.data):
            raise ValidationError("Enter a number in E.164 (+15551234567) or a sender name of "
                                  "up to 11 letters, digits and spaces, with at least one letter.")

    def validate_vonage_voice_from(self, field):
        field.data = _number(field.data)

    def validate_public_url(self, field):
        parts = urlsplit(field.data)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.query:
            raise ValidationError("Enter the address people open Tidings at, like "
                                  "https://tidings.example.com.")
        field.data = field.data.rstrip("/")

    def secret_value(self, name: str) -> str:
        if name != "vonage_private_key":
            return super().secret_value(name)
        return self._pem or ""

    def validate(self, extra_validators=None) -> bool:
        self._pem = None
        ok = super().validate(extra_validators)
        return self._check_key() and ok

    def _check_key(self) -> bool:
        """Read the pasted or uploaded key; keep it as PKCS#8 PEM."""
        upload = self.vonage_private_key_file.data
        text = self.vonage_private_key.data or ""
        if upload and getattr(upload, "filename", ""):
            text = upload.read(10_001).decode("utf-8", errors="replace")
        if not text.strip():
            return True
        try:
            self._pem = pkcs8_pem(text)
        except (ValueError, TypeError):
            self.vonage_private_key.errors.append(
                "This is not a private key: paste the whole private.key file Vonage gave you, "
                "from -----BEGIN PRIVATE KEY----- to -----END PRIVATE KEY-----.")
            return False
        return True

    def check_complete(self, merged: dict) -> bool:
        """Pairs that only work together: key + secret, application id + private key."""
        ok = True
        if merged.get("vonage_api_key") and not merged.get("vonage_api_secret"):
            self.vonage_api_secret.errors.append("Enter the API secret that goes with the key.")
            ok = False
        if merged.get("vonage_api_secret") and not merged.get("vonage_api_key"):
            self.vonage_api_key.errors.append("Enter the API key that goes with the secret.")
            ok = False
        if merged.get("vonage_application_id") and not merged.get("vonage_private_key"):
            self.vonage_private_key.errors.append("Add the application's private key.")
            ok = False
        if merged.get("vonage_private_key") and not merged.get("vonage_application_id"):
            self.vonage_application_id.errors.append("Enter the application id of this key.")
            ok = False
        return ok


class EmailForm(_SettingsForm):
    SETTING_FIELDS = ("smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_from",
                      "smtp_from_name")
    SECRET_FIELDS = ("smtp_password",)

    smtp_host = StringField("SMTP server", validators=[Optional(), Length(max=253)],
                            description="Leave empty to deliver email to the simulator.")
    smtp_port = IntegerField("Port", default=587, validators=[
        InputRequired("Enter a port (587 for STARTTLS, 465 for TLS)."),
        NumberRange(1, 65535, message="A port is a number from 1 to 65535.")])
    smtp_security = SelectField("Security", default="starttls", validators=[InputRequired()],
                                choices=[SelectChoice("starttls", "STARTTLS (port 587)"),
                                         SelectChoice("ssl", "TLS from the start (port 465)"),
                                         SelectChoice("none", "None (local relay only)")])
    smtp_username = StringField("User name", validators=[Optional(), Length(max=254)])
    smtp_password = PasswordField("Password", validators=[Optional(), Length(max=200)])
    clear_smtp_password = BooleanField("Remove the stored password")
    smtp_from = EmailField("Sender address", validators=[
        Optional(), Email("Enter a valid email address."), Length(max=254)])
    smtp_from_name = StringField("Sender name", validators=[Optional(), Length(max=100)])

    def validate_smtp_host(self, field):
        if not HOSTNAME.match(field.data):
            raise ValidationError("Enter a host name like smtp.example.com.")

    def check_complete(self, merged: dict) -> bool:
        ok = True
        if merged.get("smtp_host") and not merged.get("smtp_from"):
            self.smtp_from.errors.append("Enter the address emails are sent from.")
            ok = False
        if merged.get("smtp_username") and not merged.get("smtp_password"):
            self.smtp_password.errors.append("Enter the password of this user.")
            ok = False
        return ok


class BusinessForm(_SettingsForm):
    SETTING_FIELDS = ("business_name", "business_phone", "business_timezone", "delivery_mode",
                      "currency", "sms_inbound_price")

    business_name = StringField("Business name", validators=[
        DataRequired("Enter the business name."), Length(max=100)])
    business_phone = StringField("Business phone", validators=[Optional(), Length(max=30)])
    business_timezone = StringField("Time zone", validators=[DataRequired("Enter a time zone.")],
                                    description="e.g. America/New_York, Europe/Berlin")
    delivery_mode = SelectField("Delivery", default="live", validators=[InputRequired()],
                                choices=[
                                    SelectChoice("live", "Real providers when configured"),
                                    SelectChoice("simulator",
                                                 "Phone simulator only (demo / training)")])
    currency = StringField("Currency", default="USD", validators=[
        DataRequired("Enter a currency code."),
        Regexp(r"^[A-Za-z]{3}$", message="A currency is a three-letter code such as USD.")],
        filters=[lambda v: v.strip().upper() if isinstance(v, str) else v],
        description="The code prices are shown in, as your provider bills (e.g. USD, EUR).")
    sms_inbound_price = StringField("Price per received text segment", default="0", validators=[
        Optional(), Regexp(r"^\d{1,4}(\.\d{1,5})?$",
                           message="A price such as 0.0079 (0 when receiving is free).")],
        description="Some plans bill for texts you receive; 0 when yours does not.")

    def validate_business_phone(self, field):
        field.data = _number(field.data)

    def validate_business_timezone(self, field):
        if field.data not in zoneinfo.available_timezones():
            raise ValidationError(f"“{field.data}” is not a time zone; use a name like "
                                  "America/New_York.")

    def check_complete(self, merged: dict) -> bool:
        return True


class TestMessageForm(FlaskForm):
    channel = SelectField("Send a", default="sms", validators=[InputRequired()],
                          choices=[SelectChoice("sms", "Text message"),
                                   SelectChoice("voice", "Phone call"),
                                   SelectChoice("email", "Email")])
    to = StringField("To", filters=[_strip], validators=[
        DataRequired("Enter a phone number or an email address."), Length(max=254)])

    def validate_to(self, field):
        if self.channel.data == "email":
            Email("Enter a valid email address.")(self, field)
            return
        try:
            if self.channel.data == "sms":
                field.data = phones.mobile_e164(field.data, _region())
            else:
                field.data = phones.to_e164(field.data, _region())
        except phones.PhoneError as exc:
            raise ValidationError(str(exc)) from None
