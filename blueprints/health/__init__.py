"""Health, readiness and metrics for operators and their monitoring (no page chrome)."""

from flask import Blueprint

bp = Blueprint("health", __name__)
