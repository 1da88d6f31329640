"""Periodic jobs, read by `rq cron scheduler.py` (scripts/run.py starts it when this file exists).

The cron process only enqueues; the workers run the jobs inside their app context.
"""

from rq import cron

from core.appointments.importing.tasks import sync_due_feeds
from core.automation.tasks import run_rules
from core.confirmations.tasks import expire_unanswered
from core.messaging.tasks import sweep
from core.team.tasks import purge_old_messages
from core.usage.tasks import compact_rollup

# The delivery sweeper: re-enqueue due messages no job holds, reconcile sends a dead worker
# left, restart broadcasts whose trigger Redis lost. On "high" so a backlog never delays it.
cron.register(sweep, "high", interval=30, job_timeout=300, result_ttl=600)

# Automated messages: plan what each enabled rule is due for (exactly once: the database key).
# On "high" too: a backlog of deliveries on "default" must not delay the 09:00 reminders.
cron.register(run_rules, "high", interval=60, job_timeout=600, result_ttl=600)

# Calendar feeds (core.appointments.importing): each due feed gets its own sync job on "low".
cron.register(sync_due_feeds, "low", interval=60, job_timeout=60, result_ttl=600)

# Confirmation requests unanswered after Settings' hours (or whose appointment started)
# become No response.
cron.register(expire_unanswered, "default", interval=300, job_timeout=300, result_ttl=600)

# Staff chat retention (core.team): purge messages older than the Admin's setting, daily.
cron.register(purge_old_messages, "low", interval=86400, job_timeout=600, result_ttl=600)

# The usage rollup (core.usage.rollup): fold the rows the triggers appended, so the usage page
# sums one row per hour and key. Correct without it, only slower as rows pile up.
cron.register(compact_rollup, "low", interval=60, job_timeout=300, result_ttl=600)
