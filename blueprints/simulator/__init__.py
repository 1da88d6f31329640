"""The phone simulator: one phone per contact, to read what was sent and reply as the client."""

from flask import Blueprint

bp = Blueprint("simulator", __name__, url_prefix="/simulator")
