"""Signals the messaging core sends; features (staff chat) connect to them at app creation."""

from blinker import Namespace

_signals = Namespace()

# Sent with the inbound Message as sender while it is handled, inside the caller's
# transaction; receivers add to the same session and never commit.
inbound_received = _signals.signal("inbound-received")
