"""Scheduled jobs for RQ's cron: ``rq cron cron.py --url $REDIS_URL`` (a process beside the workers).

Every 5 minutes: the sweep enqueues statements left queued while Redis was down, and the pick-up ingests
statement files dropped into object storage. Both are idempotent, so an overlapping run does no harm.
"""
from rq import cron

from insurer_dms.config import from_environment
from jobs.maintenance_signals import offline_sweep
from jobs.sla import mark_sla
from jobs.statements import pick_up, sweep

QUEUE = from_environment()["RQ_QUEUE"]

cron.register(sweep, queue_name=QUEUE, cron="*/5 * * * *", name="statements-sweep")
cron.register(pick_up, queue_name=QUEUE, cron="*/5 * * * *", name="statements-pick-up")
# Every 15 minutes: tickets at 80% of their SLA become at risk, those past their due time breached.
cron.register(mark_sla, queue_name=QUEUE, cron="*/15 * * * *", name="tickets-sla")
# Hourly: connected devices unseen for OFFLINE_TICKET_DAYS get a device_offline ticket; those seen again are resolved.
cron.register(offline_sweep, queue_name=QUEUE, cron="0 * * * *", name="tickets-offline-sweep")
