"""Connection health: a pooled connection is pinged before use only when it has sat idle.

`pool_pre_ping` pings on every checkout, and a Flask-SQLAlchemy session checks a connection
out for every transaction: the delivery worker, which commits once per message, paid one extra
round trip per message for it. A connection handed back less than IDLE_PING_SECONDS ago was
alive a moment ago and is used as is; one that sat longer (a web worker between requests, a
worker after a quiet spell, anything across a database restart) is pinged first and replaced
when the ping fails.
"""

import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

IDLE_PING_SECONDS = 1.0


def ping_when_idle(engine: Engine, idle: float = IDLE_PING_SECONDS) -> None:
    """Install the idle-only ping on `engine`'s pool (it survives engine.dispose())."""

    def checked_in(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_out(dbapi_connection, record, _proxy) -> None:
        since = record.info.pop("idle_since", None)
        if since is not None and time.monotonic() - since < idle:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 - any failed ping means "get another one"
            raise DisconnectionError(f"stale connection: {exc}") from exc

    event.listen(engine, "checkin", checked_in)
    event.listen(engine, "checkout", checked_out)
