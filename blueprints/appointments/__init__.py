"""Appointments: the filtered list with a selection that survives paging, details and forms."""

from flask import Blueprint

bp = Blueprint("appointments", __name__, url_prefix="/appointments")
