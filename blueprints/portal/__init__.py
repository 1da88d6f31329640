"""The public secure-message portal: link, tap to reveal, PIN, read, download, reply once."""

from flask import Blueprint

bp = Blueprint("portal", __name__, url_prefix="/s")
