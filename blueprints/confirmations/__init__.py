"""Confirmations: an appointment's confirmation status, its change by hand, and the sending
window and confirmation settings."""

from flask import Blueprint

bp = Blueprint("confirmations", __name__, url_prefix="/confirmations")
