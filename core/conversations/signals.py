"""Signals two-way texting sends; features (staff chat) connect to them at app creation."""

from blinker import Namespace

_signals = Namespace()

# Sent with the inbound Message as sender while a client's text is handled, inside the drain's
# transaction; receivers add to the same session and never commit.
client_replied = _signals.signal("client-replied")
