"""Conversations: two-way texting with clients."""

from flask import Blueprint

bp = Blueprint("conversations", __name__, url_prefix="/conversations")
