"""Clients: the list, the client card, and the create and edit forms."""

from flask import Blueprint

bp = Blueprint("clients", __name__, url_prefix="/clients")
