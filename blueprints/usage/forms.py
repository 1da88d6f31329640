"""The monthly quota form: messages and spend per category, blank for no quota."""

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Optional, Regexp

CATEGORIES = ("transactional", "marketing", "direct")
WHOLE = Regexp(r"^\d{1,9}$", message="A whole number of messages, or blank for no quota.")
MONEY = Regexp(r"^\d{1,9}(\.\d{1,2})?$", message="An amount such as 250 or 99.50, or blank.")


class QuotaForm(FlaskForm):
    """Six optional limits, named like their settings (quota_<category>_<kind>)."""

    quota_transactional_messages = StringField("Transactional messages", [Optional(), WHOLE])
    quota_transactional_spend = StringField("Transactional spend", [Optional(), MONEY])
    quota_marketing_messages = StringField("Marketing messages", [Optional(), WHOLE])
    quota_marketing_spend = StringField("Marketing spend", [Optional(), MONEY])
    quota_direct_messages = StringField("Direct (reply) messages", [Optional(), WHOLE])
    quota_direct_spend = StringField("Direct (reply) spend", [Optional(), MONEY])

    def values(self) -> dict:
        """Every limit as it will be stored ('' for none)."""
        return {f.name: (f.data or "").strip() for f in self if f.name.startswith("quota_")}
