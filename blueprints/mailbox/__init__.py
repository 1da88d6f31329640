"""Outbox, Inbox and message detail: what went out, what came back."""

from flask import Blueprint

bp = Blueprint("mailbox", __name__, url_prefix="/messages")
