"""Compose: one message or a mass notice, now or scheduled, with its preview and progress."""

from flask import Blueprint

bp = Blueprint("compose", __name__, url_prefix="/compose")
