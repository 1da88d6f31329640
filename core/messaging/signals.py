"""Extension points of the messaging pipeline: blinker signals (as in indico's core.signals).

The pipeline announces what it is doing; feature packages (secure messages, conversations,
automation, usage) connect their receivers at app creation (`connect(app)` in each package's
`hooks.py`, called by app.py), so `core.messaging` imports none of them: the arrow always points
from the feature to the core. Where the pipeline needs an answer, a receiver returns it and
`answers()` collects what came back (None means "not mine").
"""

from collections.abc import Iterator
from typing import Any, NamedTuple

from blinker import Namespace, Signal

_signals = Namespace()

broadcast_checking = _signals.signal("broadcast-checking", doc="""
Compose checks a feature's options of a send before anything is written. Sender: the channel;
kwargs `feature` ("secure") and `options` (what the person asked for). A receiver of that
feature returns the validated options, or raises ValueError with a message fit to show.""")

broadcast_preparing = _signals.signal("broadcast-preparing", doc="""
Compose has flushed a Broadcast (not committed) that carries feature options. Sender: the
broadcast; kwargs `options` (validated) and `uploads`. A receiver that keeps the uploads
itself (e.g. encrypted) returns True, and compose does not store them.""")

broadcast_reserving = _signals.signal("broadcast-reserving", doc="""
Compose is about to commit a flushed Broadcast. Sender: the broadcast; kwargs `summary` (the
plan's figures: sendable, total_segments, channels). A receiver may count the send in the
same transaction (usage quotas) or raise ValueError with a message fit to show: nothing is
written then.""")

broadcast_planning = _signals.signal("broadcast-planning", doc="""
Fan-out is about to plan a broadcast. Sender: the broadcast. A receiver may return an iterator
of Planned rows to use instead of `recipients.plan(broadcast)` (a secure send's notices).""")

messages_vetting = _signals.signal("messages-vetting", doc="""
Fan-out has inserted one chunk of a broadcast's messages and locked the broadcast's row, in
the transaction that will commit them. Sender: the broadcast id; kwargs `options` (the
broadcast's options) and `appointment_ids` (those of the chunk's queued messages). A receiver
returns {appointment id: reason} for messages that must not go after all (automation: the
appointment was rescheduled or cancelled since the rule's run planned it); they are skipped
with that reason in the same transaction.""")

message_sending = _signals.signal("message-sending", doc="""
Delivery is about to hand one claimed message to its provider. Sender: the Due row; kwargs
`subject`, `body`. A receiver may return (subject, body) to send instead (a secure notice's
link is minted here).""")

sweeping = _signals.signal("sweeping", doc="""
The sweeper runs (every 30 s). Sender: the moment (`now`). A receiver does its own re-arming
and returns {name: count} for the sweep's report.""")

inbound_stored = _signals.signal("inbound-stored", doc="""
An inbound message was stored and its drain triggered. Sender: the Redis pipeline the trigger
uses (a receiver may add its own commands to it).""")

inbound_batch = _signals.signal("inbound-batch", doc="""
The inbound drain starts a batch. Sender: None. A receiver may return a context manager that
stays entered for the whole batch (e.g. settings read once).""")

inbound_received = _signals.signal("inbound-received", doc="""
The drain handles one inbound message. Sender: the Message. A receiver acts on it (keywords,
answers, auto-responses) and returns Handled(detail, reply_ids): the replies it wrote in the
drain's transaction, which the drain hands to delivery after its commit.""")


network_opt_out = _signals.signal("network-opt-out", doc="""
A delivery receipt says the recipient asked not to receive messages from this service (SMS
err-code 9, Messages 1240). Sender: the Message; kwarg `detail`. Two-way texting opts the
number out as STOP does, without a confirmation text.""")


class Handled(NamedTuple):
    """What a receiver of `inbound_received` did with a message."""

    detail: str
    replies: list[int]


def answers(signal: Signal, sender: Any = None, **kwargs) -> Iterator[Any]:
    """The non-None values the receivers of `signal` returned, in connection order."""
    for _receiver, value in signal.send(sender, **kwargs):
        if value is not None:
            yield value


def first_answer(signal: Signal, sender: Any = None, default: Any = None, **kwargs) -> Any:
    """The first non-None value a receiver returned, else `default`."""
    return next(answers(signal, sender, **kwargs), default)
