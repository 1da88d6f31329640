"""What Vonage's status callbacks say, read into one Receipt: SMS API delivery receipts,
Messages API status webhooks and Voice API call events (payloads as documented; examples in
tests/vonage_webhooks/payloads.py). core/providers/vonage_webhooks.py checks who sent them.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from core.messaging.models import Status
from core.messaging.receipts import apply_receipt
from core.providers.vonage import PROVIDER_NAME
from core.providers.vonage_errors import messages_error, receipt_error

SMS_STATUS = {
    "delivered": Status.DELIVERED, "expired": Status.EXPIRED, "failed": Status.FAILED,
    "rejected": Status.FAILED, "accepted": Status.SENT, "buffered": Status.SENT,
    "unknown": Status.SENT,
}
MESSAGES_STATUS = {
    "submitted": Status.SENT, "delivered": Status.DELIVERED, "read": Status.DELIVERED,
    "rejected": Status.FAILED, "undeliverable": Status.FAILED,
}
VOICE_STATUS = {
    "started": (Status.SENT, "Call placed"), "ringing": (Status.SENT, "Ringing"),
    "answered": (Status.DELIVERED, "Call answered"),
    "completed": (Status.DELIVERED, "Call completed"),
    "busy": (Status.FAILED, "The line was busy"),
    "cancelled": (Status.FAILED, "Call cancelled"),
    "failed": (Status.FAILED, "Call failed"), "rejected": (Status.FAILED, "Call rejected"),
    "timeout": (Status.FAILED, "Nobody answered"), "unanswered": (Status.FAILED, "Nobody answered"),
}
# Answering-machine detection (Voice API webhook reference: "human / machine" events carry
# `call_uuid`, not `uuid`): the call was answered, and this says by whom.
ANSWERED_BY = {"human": "Answered by a person", "machine": "Answered by voicemail"}


class WebhookRefused(Exception):
    """A webhook we will not act on: `status` is the HTTP answer, `reason` says why."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Receipt:
    """One status report about a message we sent."""

    provider_id: str
    status: str
    code: str = ""
    detail: str = ""
    at: datetime | None = None
    client_ref: str = ""  # our message id, for a send whose outcome was unknown
    cost: Decimal | None = None  # what Vonage charged
    outcome: str = ""  # how it was received, kept even when the status does not change
    note: str = ""  # raw detail for the message's history only
    opted_out: bool = False  # the recipient asked not to receive messages from this service


def required(data: dict, *names: str) -> list[str]:
    """The named values, stripped; WebhookRefused(400) naming the ones missing."""
    values = [str(data.get(name) or "").strip() for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise WebhookRefused(400, "missing " + ", ".join(missing))
    return values


def _time(text: str | None, *formats: str) -> datetime | None:
    for fmt in formats:
        try:
            return datetime.strptime(str(text), fmt).replace(tzinfo=UTC)
        except (TypeError, ValueError):
            continue
    return None


def iso_time(text: str | None) -> datetime | None:
    """An ISO 8601 time in UTC, or None."""
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def sms_time(text: str | None) -> datetime | None:
    """`message-timestamp` of the SMS API: "2020-01-01 12:00:00" (UTC) in a form or query
    string, ISO 8601 in a JSON body."""
    return (_time(text, "%Y-%m-%d %H:%M:%S") or iso_time(text)
            or _aware(text, "%Y-%m-%d %H:%M:%S %z"))


def _aware(text: str | None, fmt: str) -> datetime | None:
    try:
        return datetime.strptime(str(text), fmt).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _price(value) -> Decimal | None:
    try:
        price = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return price if price.is_finite() and price >= 0 else None


def sms_receipt(params: dict) -> Receipt | None:
    """A delivery receipt of the SMS API (None for a status we do not track).

    Its time is `message-timestamp` (UTC, when Vonage got the network's report); `scts` is
    the network's own timestamp, of no stated zone, so it is only kept as written."""
    (provider_id, state) = required(params, "messageId", "status")
    status = SMS_STATUS.get(state.lower())
    if status is None:
        return None
    code = str(params.get("err-code") or "")
    error = receipt_error(code)
    if code in ("", "0"):
        detail = state
    else:
        detail = f"{error.reason if error else 'Error'} ({state}, code {code})"
    scts = str(params.get("scts") or "")
    return Receipt(provider_id, status, code, detail, sms_time(params.get("message-timestamp")),
                   str(params.get("client-ref") or ""), cost=_price(params.get("price")),
                   note=f"network time scts={scts}" if scts else "",
                   opted_out=bool(error and error.opt_out and status == Status.FAILED))


def messages_receipt(payload: dict) -> Receipt | None:
    """A status webhook of the Messages API (MMS, or SMS sent through it)."""
    provider_id, state = required(payload, "message_uuid", "status")
    status = MESSAGES_STATUS.get(state.lower())
    if status is None:
        return None
    error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
    code, known = messages_error(error) if error else ("", None)
    detail = str((known.reason if known else "") or error.get("detail") or state)
    if error.get("detail") and known and error["detail"] != known.reason:
        detail = f"{detail}: {error['detail']}"
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    return Receipt(provider_id, status, code, detail[:500], iso_time(payload.get("timestamp")),
                   str(payload.get("client_ref") or ""), cost=_price(usage.get("price")),
                   opted_out=bool(known and known.opt_out and status == Status.FAILED))


def voice_receipt(payload: dict) -> Receipt | None:
    """A call event of the Voice API that tells how the call went."""
    state = str(payload.get("status") or "").lower()
    if not state:
        return None  # input, recording and transfer events carry no call status
    if state in ANSWERED_BY:
        (provider_id,) = required({"uuid": payload.get("call_uuid") or payload.get("uuid")},
                                   "uuid")
        return Receipt(provider_id, Status.DELIVERED, state, ANSWERED_BY[state],
                       iso_time(payload.get("timestamp")), outcome=ANSWERED_BY[state])
    (provider_id,) = required(payload, "uuid")
    mapped = VOICE_STATUS.get(state)
    if mapped is None:
        return None
    status, detail = mapped
    why = str(payload.get("detail") or "").replace("_", " ").strip()
    if why and status == Status.FAILED:
        detail = f"{detail}: {why}"
    note = ""
    if state == "completed" and payload.get("duration") not in (None, ""):
        note = f"{payload.get('duration')} s at {payload.get('rate') or '?'} a minute"
    return Receipt(provider_id, status, state, detail, iso_time(payload.get("timestamp")),
                   cost=_price(payload.get("price")) if state == "completed" else None,
                   note=note)


def apply(receipt: Receipt | None) -> bool:
    """Hand a receipt to the delivery pipeline (which commits); False for no message of ours."""
    if receipt is None:
        return False
    return apply_receipt(provider=PROVIDER_NAME, provider_id=receipt.provider_id[:80],
                         status=str(receipt.status), code=receipt.code, detail=receipt.detail,
                         at=receipt.at, client_ref=receipt.client_ref or None,
                         cost=receipt.cost, outcome=receipt.outcome, note=receipt.note,
                         opted_out=receipt.opted_out)
