"""Vonage callbacks: SMS receipts and replies, Messages API status and inbound, call events."""

from flask import Blueprint

bp = Blueprint("vonage_webhooks", __name__, url_prefix="/webhooks/vonage")
