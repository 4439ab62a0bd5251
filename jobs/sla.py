"""Jobs of the maintenance tickets' SLA: marking tickets at risk and breached (scheduled every 15 minutes)."""
from . import job


@job
def mark_sla(now_iso=None):
    """Mark at-risk and breached tickets as of ``now_iso`` (ISO 8601 with a UTC offset; default: now).

    The clock is a parameter so a test, or a catch-up run, can say which moment to judge the tickets at.
    Returns the counts marked, e.g. ``{"at_risk": 2, "breached": 1}``; a re-run at the same moment marks nothing.
    """
    import datetime as dt

    from insurer_dms.maintenance import sla
    from insurer_dms.types import utcnow

    now = dt.datetime.fromisoformat(now_iso) if now_iso else utcnow()
    return sla.mark_sla(now)
