"""Monthly quotas on rule runs: a run is counted against its category's quota in the
transaction that keys it (through the pipeline's `broadcast_reserving` signal, as Compose
counts a send). A run that would go over sends nothing and pauses its rule until an Admin
resumes it."""

import logging
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from core.audit.operations import record
from core.automation.models import AutomationRule
from core.extensions import db
from core.messaging import signals
from core.messaging.compose import SYNC_PLAN_LIMIT
from core.messaging.models import Broadcast, Channel
from core.messaging.recipients import Summary, count_reachable, plan, summarize
from core.types import utcnow

log = logging.getLogger(__name__)
SAMPLE = 200  # appointments merged to estimate the segments of a large run


def run_summary(broadcast: Broadcast, ids: list[int]) -> Summary:
    """What the run amounts to: planned in full up to the Compose limit; a larger run is
    counted in SQL and its segments are estimated from its first SAMPLE recipients."""
    limit = current_app.config.get("COMPOSE_SYNC_PLAN_LIMIT", SYNC_PLAN_LIMIT)
    if len(ids) <= limit:
        return summarize(plan(broadcast), keep=0)
    summary = count_reachable(Channel(broadcast.channel), ids, email_fallback=True)
    draft = Broadcast(channel=broadcast.channel, subject=broadcast.subject, body=broadcast.body,
                      recipients={"appointment_ids": ids[:SAMPLE]}, options=broadcast.options)
    sample = summarize(plan(draft), keep=0)
    if sample.sendable:
        scale = summary.sendable / sample.sendable
        summary.total_segments = round(sample.total_segments * scale)
        summary.channels.update({k: round(v * scale) for k, v in sample.channels.items()})
    return summary


def reserve(broadcast: Broadcast, ids: list[int]) -> None:
    """Count the run in its category's monthly quota, or raise ValueError (the quota's words)."""
    signals.broadcast_reserving.send(broadcast, summary=run_summary(broadcast, ids))


def pause(rule: AutomationRule, reason: str, now: datetime | None = None) -> None:
    """Pause the rule (audited) until an Admin resumes it; the caller commits."""
    rule.paused_at, rule.paused_reason = now or utcnow(), reason[:300]
    record("rule.paused", f"Rule “{rule.name}” paused: {reason}"[:500],
           data={"rule_id": rule.id})
    log.warning("rule %s paused: %s", rule.id, reason)


def resume(rule: AutomationRule, *, actor) -> bool:
    """Resume a paused rule (audited); False when it was not paused. The caller commits."""
    if rule.paused_at is None:
        return False
    rule.paused_at, rule.paused_reason = None, ""
    record("rule.resumed", f"Rule “{rule.name}” resumed", actor=actor,
           data={"rule_id": rule.id})
    return True


def paused_count() -> int:
    """How many rules a monthly quota paused (the Admins' banner)."""
    return db.session.scalar(select(func.count()).select_from(AutomationRule)
                             .where(AutomationRule.paused_at.is_not(None))) or 0
