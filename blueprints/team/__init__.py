"""Team: staff chat between staff members."""

from flask import Blueprint

bp = Blueprint("team", __name__, url_prefix="/team")
