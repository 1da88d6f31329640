"""Provider callbacks: inbound messages and delivery receipts (public, signed, idempotent)."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
