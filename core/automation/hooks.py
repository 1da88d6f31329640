"""Automation's reactions to appointment changes: a reschedule or a cancellation stops what
was queued for the old time and frees its key, so the new time is planned afresh. The
fan-out vets each chunk of a rule's run against the keys, so a change made between the run's
commit and its fan-out (when no message exists yet to cancel) stops it too."""

from sqlalchemy import Integer, and_, func, select, true, update

from core.appointments import signals
from core.appointments.models import Appointment, AppointmentStatus
from core.automation.models import AutomationSend, SendStatus
from core.bulk import int_array, is_postgresql
from core.extensions import db
from core.messaging import signals as messaging
from core.messaging.pipeline import cancel_messages
from core.messaging.transitions import BROADCASTS, MESSAGES

SENDS = AutomationSend.__table__
RESCHEDULED, CANCELLED = "Rescheduled", "Appointment cancelled"


def connect(app=None) -> None:
    """Connect the handlers (idempotent: blinker keeps one connection per function)."""
    signals.changed.connect(on_changed, weak=False)
    messaging.messages_vetting.connect(vet_chunk, weak=False)


def on_changed(appointment, changes: dict, actor=None) -> None:
    """Reschedule → cancel what was queued for the old start; cancelled → cancel it all."""
    if "start_at" in changes:
        cancel_planned(appointment.id, changes["start_at"][0], RESCHEDULED, actor)
    if changes.get("status", [None, None])[1] == AppointmentStatus.CANCELLED:
        cancel_planned(appointment.id, appointment.start_at, CANCELLED, actor)


def cancel_planned(appointment_id: int, start, reason: str, actor=None) -> int:
    """Cancel the queued automated messages of one appointment at `start` and mark their
    keys cancelled; the caller commits. Returns how many messages were stopped."""
    broadcasts = list(db.session.scalars(
        update(SENDS)
        .where(SENDS.c.appointment_id == appointment_id, SENDS.c.appointment_start == start,
               SENDS.c.status == SendStatus.PLANNED.value)
        .values(status=SendStatus.CANCELLED.value)
        .returning(SENDS.c.broadcast_id)))
    broadcasts = sorted({b for b in broadcasts if b is not None})
    if not broadcasts:
        return 0
    # Wait for a fan-out writing these broadcasts' messages (it holds their rows until it
    # commits), so its messages are seen and cancelled here (see vet_chunk).
    db.session.execute(select(BROADCASTS.c.id).where(BROADCASTS.c.id.in_(broadcasts))
                       .order_by(BROADCASTS.c.id).with_for_update())
    return cancel_messages((MESSAGES.c.appointment_id == appointment_id)
                           & MESSAGES.c.broadcast_id.in_(broadcasts), actor=actor, reason=reason)


def planned_for(appointment_id: int) -> list[AutomationSend]:
    """The live keys of one appointment (for its page)."""
    return list(db.session.scalars(select(AutomationSend).where(
        AutomationSend.appointment_id == appointment_id,
        AutomationSend.status == SendStatus.PLANNED.value)))


def vet_chunk(broadcast_id: int, *, options: dict, appointment_ids: list[int]) -> dict | None:
    """{appointment id: reason} for the chunk's appointments whose key of this rule run is no
    longer live at their current start (rescheduled or cancelled since the run was planned);
    None for a broadcast that is not a rule's run."""
    rule_id = (options.get("automation") or {}).get("rule_id")
    if not rule_id:
        return None
    stale = set(appointment_ids) - _live(rule_id, broadcast_id, appointment_ids)
    if not stale:
        return {}
    rows = db.session.execute(select(Appointment.id, Appointment.status)
                              .where(Appointment.id.in_(sorted(stale)))).all()
    return {row.id: CANCELLED if row.status == AppointmentStatus.CANCELLED else RESCHEDULED
            for row in rows}


def _live(rule_id: int, broadcast_id: int, appointment_ids: list[int]) -> set[int]:
    """Those of the appointments whose key of this run is still planned at their start. On
    PostgreSQL each id probes the key's unique index and the appointment's primary key
    (LATERAL), so a chunk of 10,000 costs milliseconds even before the tables have
    statistics (a filter `id = ANY(…)` over a sequential scan took minutes at 100,000)."""
    key = [SENDS.c.rule_id == rule_id, SENDS.c.broadcast_id == broadcast_id,
           SENDS.c.status == SendStatus.PLANNED.value]
    if not is_postgresql():
        return set(db.session.scalars(
            select(SENDS.c.appointment_id).join(Appointment, and_(
                Appointment.id == SENDS.c.appointment_id,
                Appointment.start_at == SENDS.c.appointment_start))
            .where(SENDS.c.appointment_id.in_(appointment_ids), *key)))
    among = func.unnest(int_array(appointment_ids, Integer)).table_valued("id").render_derived(
        "among")
    live = (select(SENDS.c.appointment_id)
            .join(Appointment, and_(Appointment.id == among.c.id,
                                    Appointment.start_at == SENDS.c.appointment_start))
            .where(SENDS.c.appointment_id == among.c.id, *key).lateral("live"))
    return set(db.session.scalars(select(live.c.appointment_id).select_from(among)
                                  .join(live, true())))
