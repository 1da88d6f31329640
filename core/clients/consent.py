"""Marketing consent of a client: given (import, form on the client card, the JOIN keyword)
or withdrawn (the form, STOP), each change on the client's audit history."""

from core.audit.operations import history, record
from core.clients.models import Client
from core.types import utcnow

SOURCES = {"import": "imported", "form": "on the client card", "keyword": "by texting JOIN"}
GIVEN, WITHDRAWN = "client.marketing_consent", "client.marketing_withdrawn"


def give(client: Client, source: str, *, actor=None, message_id=None) -> bool:
    """Record the client's marketing consent (the caller commits); False when already given."""
    if client.marketing_consent:
        return False
    client.marketing_consent, client.marketing_consent_at = True, utcnow()
    client.marketing_consent_source = source
    record(GIVEN, f"Marketing consent given {SOURCES.get(source, source)}", actor=actor,
           client_id=client.id, message_id=message_id, data={"source": source})
    return True


def withdraw(client: Client, source: str, *, actor=None, message_id=None) -> bool:
    """Withdraw the client's marketing consent (the caller commits); False when there was none."""
    if not client.marketing_consent:
        return False
    client.marketing_consent, client.marketing_consent_at = False, utcnow()
    client.marketing_consent_source = source
    how = "by STOP" if source == "stop" else SOURCES.get(source, source)
    record(WITHDRAWN, f"Marketing consent withdrawn {how}", actor=actor, client_id=client.id,
           message_id=message_id, data={"source": source})
    return True


def consent_history(client_id: int) -> list:
    """The client's consent events, newest first."""
    return [e for e in history(client_id=client_id, limit=500) if e.action in (GIVEN, WITHDRAWN)]
