"""Send confirmation: a confirmation request to the client of one visit (or of several ticked
appointments), through the pipeline; the appointments then await a reply."""

from sqlalchemy.orm.attributes import set_committed_value

from core.audit.operations import record
from core.automation.engine import mark_requested_in_chunks
from core.extensions import db
from core.messaging import compose, signals
from core.messaging.models import Broadcast, BroadcastStatus
from core.messaging.pipeline import start_broadcast


def send_confirmation(appointment_ids: list[int], *, channel: str, subject: str, body: str,
                      actor=None, to: str = "") -> Broadcast:
    """Validate (as Compose does), write one broadcast, mark the appointments as awaiting a
    reply in the same transaction, commit, then start it; raises compose.ComposeError.
    `to`: another contact's mobile the request goes to instead; its answer counts."""
    # Sent by hand, but it waits for the recipients' sending window like a rule's request
    # (it asks for an answer: not at 22:00), and falls back to email as automation does.
    options = {"confirmation": {"manual": True},
               "automation": {"kind": "confirmation", "manual": True}}
    spec = {"appointment_ids": appointment_ids, **({"mobile": to} if to.strip() else {})}
    checked = compose.check(channel=channel, recipients=spec,
                            subject=subject, body=body, options=options)
    ids = checked.recipients["appointment_ids"]
    broadcast = Broadcast(
        created_by_id=getattr(actor, "id", None), channel=checked.channel.value,
        subject=checked.subject, body=checked.body, recipients=checked.recipients,
        status=BroadcastStatus.PENDING.value, total=checked.summary.total,
        options=options,
    )
    db.session.add(broadcast)
    db.session.flush()
    try:  # counted against the monthly quota, as a Compose send is
        signals.broadcast_reserving.send(broadcast, summary=checked.summary)
    except ValueError as exc:
        raise compose.ComposeError(str(exc)) from None
    # Audits each appointment as awaiting a reply (from the other contact's number, if so).
    mark_requested_in_chunks(ids, to=checked.recipients.get("mobile"))
    record("confirmation.requested", f"Confirmation requested for {len(ids)} appointment(s)",
           actor=actor, appointment_id=ids[0] if len(ids) == 1 else None,
           data={"broadcast_id": broadcast.id, "appointments": len(ids)})
    db.session.commit()
    set_committed_value(broadcast, "recipients", checked.recipients)
    start_broadcast(broadcast.id)
    return broadcast
