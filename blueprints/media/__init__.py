"""Media: attachment files served to providers (and recipients) behind signed URLs."""

from flask import Blueprint

bp = Blueprint("media", __name__, url_prefix="/media")
