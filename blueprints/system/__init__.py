"""The System page: queues, workers, failed and scheduled jobs, messages in reconcile."""

from flask import Blueprint

bp = Blueprint("system", __name__, url_prefix="/system")
