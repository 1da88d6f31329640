"""Webhook routes: check the signature, store once, answer 200 fast; jobs do the rest.

Public, CSRF-exempt (the payload is signed) and exempt from rate limits (a refused webhook is
a text retried later, or lost).
"""

from flask import Response, request

from blueprints.access import public
from blueprints.webhooks import bp
from core.extensions import csrf, limiter
from core.simulator.operations import WebhookError, handle_webhook, webhook_secret

limiter.exempt(bp)


@bp.route("/simulator/inbound", methods=["POST"])
@public
@csrf.exempt
def simulator_inbound():
    """Receive a message a simulated phone sent (Vonage's signed inbound-SMS format)."""
    try:
        handle_webhook(_params(), webhook_secret())
    except WebhookError as exc:
        return Response(exc.reason, status=exc.status, mimetype="text/plain")
    return Response("ok", mimetype="text/plain")


def _params() -> dict:
    """The posted fields, from a form or a JSON object (providers send either)."""
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}
    return request.form.to_dict()
