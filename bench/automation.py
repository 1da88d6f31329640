"""Benchmark: a daily rule run over N due appointments — keying (INSERT … SELECT ON CONFLICT)
plus the broadcast, then its fan-out — beside the existing compose + fan-out of the same N.

Also timed: the same rule run again a minute later (everything keyed: what the periodic job
costs every minute while nothing new is due).
"""

from datetime import UTC, datetime, timedelta

from bench import data
from bench.env import application, line, timed
from core.automation.engine import plan_rule
from core.automation.models import AutomationRule, MessageTemplate
from core.extensions import db
from core.jobs import queue
from core.messaging import compose, tasks
from core.messaging.templating import business_zone

BODY = "Hi {{ first_name }}, a reminder of your {{ service }} on {{ appointment_datetime }}."


def _rule(days: int) -> AutomationRule:
    template = MessageTemplate(name="Bench reminder", kind="reminder", channel="sms", subject="",
                               body=BODY)
    db.session.add(template)
    db.session.flush()
    rule = AutomationRule(name="Bench", kind="reminder", template_id=template.id,
                          timing="days_before", amount=days, send_time="00:00", after="completed",
                          status_trigger="", staff="", location="", title_contains="",
                          enabled=True)
    db.session.add(rule)
    db.session.commit()
    return rule


def run_one(backend: str, size: int) -> dict:
    """Plan and fan out one daily run of `size` appointments; then compose + fan out the same."""
    with application(backend) as app:
        ids = data.appointments(size)  # all start tomorrow at the same moment
        now = datetime.now(UTC)
        zone = business_zone()
        days = ((now + timedelta(days=1)).astimezone(zone).date() - now.astimezone(zone).date())
        rule = _rule(days.days)
        q = queue("default")
        plan_s, (broadcast_id, planned) = timed(plan_rule, rule, now)
        again_s, (_, replanned) = timed(plan_rule, rule, now + timedelta(minutes=1))
        q.empty()
        fan_s, created = timed(tasks.fan_out, broadcast_id)
        jobs = q.count
        q.empty()
        compose_s, broadcast = timed(compose.create_broadcast, actor=None, channel="sms",
                                     recipients={"appointment_ids": ids}, body=BODY)
        q.empty()
        ref_fan_s, _ = timed(tasks.fan_out, broadcast.id)
        app.extensions["redis"].flushdb()
    rule_total, ref_total = plan_s + fan_s, compose_s + ref_fan_s
    print(f"automation  backend={backend} size={size:,}")
    line("rule run: keys + broadcast committed, started", f"{plan_s:,.2f} s",
         f"{planned:,} appointments keyed")
    line("same run a minute later (all keyed)", f"{again_s * 1000:,.0f} ms",
         f"planned {replanned} (must be 0)")
    line("its fan-out: rows committed + jobs enqueued", f"{fan_s:,.2f} s",
         f"{created:,} messages, {jobs:,} delivery jobs")
    line("rule run + fan-out", f"{rule_total:,.2f} s", "target <= 5 s on PostgreSQL")
    line("reference: compose + fan-out of the same", f"{ref_total:,.2f} s",
         f"ratio {rule_total / ref_total:,.2f}x")
    return {"backend": backend, "size": size, "plan_s": plan_s, "again_s": again_s,
            "fanout_s": fan_s, "reference_s": ref_total}


def run(sizes: list[int], backends=("postgresql", "sqlite")) -> list[dict]:
    """Every backend × size."""
    return [run_one(b, s) for b in backends for s in sizes]
