"""The Templates page: named message templates with merge fields and a live preview."""

from flask import Blueprint

bp = Blueprint("templates_", __name__, url_prefix="/templates")
