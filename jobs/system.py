"""Jobs about the job system itself."""
from . import job


@job
def record_heartbeat(note=None):
    """Append a "heartbeat" activity entry: proof that a worker picked up and ran a job."""
    from insurer_dms import activity
    from insurer_dms.extensions import db

    entry = activity.record("heartbeat", None, entity_type="worker", entity_id="heartbeat", note=note)
    db.session.commit()
    return entry.id
