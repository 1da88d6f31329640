"""Automated messages: rules (Settings → Automated messages), Run now, status texts and
confirmation requests on the appointment page."""

from flask import Blueprint

bp = Blueprint("automation", __name__, url_prefix="/automation")
