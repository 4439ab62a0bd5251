"""Jobs of the no-premium-increase audit: computing one run (version) of an audit."""
from . import job


@job
def run_audit(audit_id):
    """Compute a queued run's findings and summary (status draft), or record why it failed; idempotent."""
    from insurer_dms.audits.run import run_audit as run

    return run(audit_id)
