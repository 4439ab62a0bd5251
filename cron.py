"""Scheduled jobs for RQ's cron: ``rq cron cron.py --url $REDIS_URL`` (a process beside the workers).

Every 5 minutes: the sweep enqueues statements left queued while Redis was down, and the pick-up ingests
statement files dropped into object storage. Both are idempotent, so an overlapping run does no harm.
"""
from rq import cron

from insurer_dms.config import from_environment
from jobs.statements import pick_up, sweep

QUEUE = from_environment()["RQ_QUEUE"]

cron.register(sweep, queue_name=QUEUE, cron="*/5 * * * *", name="statements-sweep")
cron.register(pick_up, queue_name=QUEUE, cron="*/5 * * * *", name="statements-pick-up")
