"""Scheduled jobs of the carrier statements: the pending-reconciliation sweep and the drop-folder pick-up."""
from . import job


@job
def sweep():
    """Enqueue the reconciliation of every statement still queued (Redis was down when it was uploaded)."""
    from insurer_dms.sims.statements import sweep_queued

    return sweep_queued()


@job
def pick_up():
    """Ingest the statement files dropped at statements/<carrier>/<YYYY-MM>.<csv|xlsx> in object storage."""
    from insurer_dms.sims.statements import pick_up_dropped

    return pick_up_dropped()
