"""Periodic jobs, read by `rq cron scheduler.py` (scripts/run.py starts it when this file exists).

The cron process only enqueues; the workers run the jobs inside their app context.
"""

from rq import cron

from core.confirmations.tasks import expire_unanswered
from core.messaging.tasks import sweep

# The delivery sweeper: re-enqueue due messages no job holds, reconcile sends a dead worker
# left, restart broadcasts whose trigger Redis lost. On "high" so a backlog never delays it.
cron.register(sweep, "high", interval=30, job_timeout=300, result_ttl=600)
# Confirmation requests unanswered after Settings' hours (or whose appointment started)
# become No response.
cron.register(expire_unanswered, "default", interval=300, job_timeout=300, result_ttl=600)
