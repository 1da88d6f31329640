"""The Settings page: provider credentials (stored encrypted), business details, test message."""

from flask import Blueprint

bp = Blueprint("settings", __name__, url_prefix="/settings")
