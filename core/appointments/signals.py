"""Signals the appointments core sends; features (automation) connect to them at app creation."""

from blinker import Namespace

_signals = Namespace()

# Sent with the changed appointment as sender and `changes={field: [old, new]}` (start_at,
# status, ...) inside the transaction that changes it; receivers add to the same session.
changed = _signals.signal("appointment-changed")
