"""Usage routes: the `currency()` every price is shown with, and the CSV exports."""

from flask import g

from blueprints.usage import bp
from core import settings


@bp.app_template_global("currency")
def currency() -> str:
    """The currency code of every shown price (read once per request)."""
    if "currency" not in g:
        g.currency = settings.currency()
    return g.currency
