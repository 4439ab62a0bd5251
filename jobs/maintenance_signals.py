"""Jobs turning signals of dark devices into maintenance tickets: a statement's zero usage, the platform's sightings."""
from . import job


@job
def statement_zero_usage(statement_id):
    """Open or update a device_offline ticket for each installed device with 0 KB on the statement (idempotent)."""
    from insurer_dms.maintenance.signals import zero_usage_signals

    return zero_usage_signals(statement_id)


@job
def offline_sweep(now_iso=None):
    """Tickets for connected devices unseen for OFFLINE_TICKET_DAYS, and back-online notes or resolutions.

    ``now_iso`` (ISO 8601; UTC when it has no offset) sets the clock, for tests; default now.
    """
    import datetime as dt

    from insurer_dms.maintenance.signals import offline_sweep as sweep

    now = None
    if now_iso:
        now = dt.datetime.fromisoformat(now_iso)
        now = now.astimezone(dt.timezone.utc) if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)
    result = sweep(now)
    return {**result, "now": result["now"].isoformat()}
