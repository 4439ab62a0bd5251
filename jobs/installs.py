"""Jobs of the installation programme: processing the provincial platform's online-status export."""
from . import job


@job
def process_online_status(import_id):
    """Match the export's rows to installed devices, record sightings and move seen orders to connected."""
    from flask import current_app

    from insurer_dms.extensions import db
    from insurer_dms.installs import online_status
    from insurer_dms.installs.models import OnlineStatusImport

    item = db.session.get(OnlineStatusImport, import_id)
    if item is None:
        raise LookupError(f"No online-status import {import_id}.")
    if item.status == "done":  # delivered twice: the first run's result stands
        return online_status.summary(item)
    item.status = "running"
    db.session.commit()
    try:
        online_status.process(item)
    except Exception as err:  # any failure is recorded on the import and shown to the user, never lost
        db.session.rollback()
        current_app.logger.exception("online-status import %s failed", import_id)
        online_status.fail(import_id, err)
    else:  # new sightings: tickets for devices dark too long, notes (or resolutions) for those back online
        from insurer_dms.queue import enqueue

        enqueue("jobs.maintenance_signals.offline_sweep")
    return online_status.summary(db.session.get(OnlineStatusImport, import_id))
