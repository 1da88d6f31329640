"""Importing clients and appointments from CSV and iCal files."""

from flask import Blueprint

bp = Blueprint("imports", __name__, url_prefix="/import")
