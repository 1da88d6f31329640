"""Usage and cost: the currency prices are shown in, the usage page, monthly quotas, and CSV
exports of the Outbox, the Inbox and the usage figures."""

from flask import Blueprint

bp = Blueprint("usage", __name__, url_prefix="/usage")
