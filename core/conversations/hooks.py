"""Two-way texting plugs into the messaging pipeline through its signals
(core.messaging.signals): the unread badge, and what each inbound text does."""

from core.conversations import autoresponse as auto
from core.conversations import operations, unread
from core.messaging import signals


def connect(app) -> None:
    """Connect the two-way texting receivers (idempotent: blinker keeps one per function)."""
    signals.inbound_stored.connect(_bump_unread)
    signals.inbound_batch.connect(_batch)
    signals.inbound_received.connect(_received)
    signals.network_opt_out.connect(_network_opt_out)


def _bump_unread(pipe):
    """A text arrived: the nav badges recount at their next poll (in the trigger's pipeline)."""
    unread.bump(pipe)


def _batch(_sender):
    """The two-way switches are read once per drained batch."""
    return auto.switches_read_once()


def _received(message):
    """Keywords, answers and auto-responses of one text; the replies wait for the drain's
    commit."""
    with auto.collect_replies() as replies:
        detail = operations.handle_inbound(message)
    return signals.Handled(detail, replies)


def _network_opt_out(message, *, detail: str) -> None:
    """The network reports the recipient refuses this service: opt the number out as STOP."""
    operations.network_opt_out(message, detail)
