"""Send confirmation: a confirmation request to the client of one visit (or of several ticked
appointments), through the pipeline; the appointments then await a reply."""

from sqlalchemy.orm.attributes import set_committed_value

from core.audit.operations import record
from core.automation.engine import mark_requested_in_chunks
from core.extensions import db
from core.messaging import compose
from core.messaging.models import Broadcast, BroadcastStatus
from core.messaging.pipeline import start_broadcast


def send_confirmation(appointment_ids: list[int], *, channel: str, subject: str, body: str,
                      actor=None) -> Broadcast:
    """Validate (as Compose does), write one broadcast, mark the appointments as awaiting a
    reply in the same transaction, commit, then start it; raises compose.ComposeError."""
    checked = compose.check(channel=channel, recipients={"appointment_ids": appointment_ids},
                            subject=subject, body=body)
    ids = checked.recipients["appointment_ids"]
    broadcast = Broadcast(
        created_by_id=getattr(actor, "id", None), channel=checked.channel.value,
        subject=checked.subject, body=checked.body, recipients=checked.recipients,
        status=BroadcastStatus.PENDING.value, total=checked.summary.total,
        options={"confirmation": {"manual": True}},
    )
    db.session.add(broadcast)
    db.session.flush()
    mark_requested_in_chunks(ids)
    for appointment_id in ids[:1000]:  # one line each on the appointments' history
        record("confirmation.requested", "Confirmation requested", actor=actor,
               appointment_id=appointment_id, data={"broadcast_id": broadcast.id})
    db.session.commit()
    set_committed_value(broadcast, "recipients", checked.recipients)
    start_broadcast(broadcast.id)
    return broadcast
