"""Usage and cost: the currency prices are shown in, CSV exports of the Outbox and Inbox."""

from flask import Blueprint

bp = Blueprint("usage", __name__, url_prefix="/usage")
