"""Vonage webhook routes: verify the signature, store once, answer 200 at once.

Public (Vonage cannot sign in), CSRF-exempt (Vonage signs instead) and exempt from rate limits
(a refused webhook is a text retried later, or lost). The SMS API may call
with GET or POST (form or JSON); the Messages and Voice APIs POST JSON with a JWT.
"""

from flask import Response, request

from blueprints.access import public
from blueprints.vonage_webhooks import bp
from core.extensions import csrf, limiter
from core.providers import vonage_webhooks as hooks

csrf.exempt(bp)
limiter.exempt(bp)


def _params() -> dict:
    """SMS API parameters from the query string, a form or a JSON object."""
    if request.is_json:
        data = request.get_json(silent=True)
        return {str(k): v for k, v in data.items()} if isinstance(data, dict) else {}
    params = request.args.to_dict()
    params.update(request.form.to_dict())
    return params


def _json() -> dict:
    data = request.get_json(silent=True, force=True)
    if not isinstance(data, dict):
        raise hooks.WebhookRefused(400, "expected a JSON object")
    return data


def _answer(handler):
    """Run one webhook handler and turn its refusal into a short plain-text answer."""
    try:
        handler()
    except hooks.WebhookRefused as exc:
        return Response(exc.reason, status=exc.status, mimetype="text/plain")
    return Response("ok", mimetype="text/plain")


def _signed_params() -> dict:
    params = _params()
    hooks.verify_params(params)
    return params


def _signed_json() -> dict:
    hooks.verify_jwt_request(request.headers.get("Authorization"), request.get_data())
    return _json()


@bp.route("/sms/receipt", methods=["GET", "POST"])
@public
def sms_receipt():
    """A delivery receipt of the SMS API (signed webhook)."""
    return _answer(lambda: hooks.apply(hooks.sms_receipt(_signed_params())))


@bp.route("/sms/inbound", methods=["GET", "POST"])
@public
def sms_inbound():
    """A text a client sent to our Vonage number (signed webhook)."""
    return _answer(lambda: hooks.sms_inbound(_signed_params()))


@bp.route("/messages/status", methods=["POST"])
@public
def messages_status():
    """A status update of a message sent through the Messages API (JWT)."""
    return _answer(lambda: hooks.apply(hooks.messages_receipt(_signed_json())))


@bp.route("/messages/inbound", methods=["POST"])
@public
def messages_inbound():
    """A text or picture message received through the Messages API (JWT)."""
    return _answer(lambda: hooks.messages_inbound(_signed_json()))


@bp.route("/voice/event", methods=["POST"])
@public
def voice_event():
    """A call progress event of the Voice API (JWT)."""
    return _answer(lambda: hooks.apply(hooks.voice_receipt(_signed_json())))
