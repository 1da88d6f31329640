"""Staff side of secure messages: revoke, unlock, resend, and the settings page."""

from flask import Blueprint

bp = Blueprint("secure", __name__, url_prefix="/secure")
