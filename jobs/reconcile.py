"""Jobs of the SIM statements: reconciling one statement version against our SIMs and plans."""
from rq import Retry

from . import job

# Enqueue with ``retry=RETRY``: transient database or Redis errors are retried after 5 s, 30 s and 2 min
# (the intervals need a worker started with --with-scheduler).
RETRY = Retry(max=3, interval=[5, 30, 120])


def _progress_writer(statement_id):
    """A callback saving the percentage in the job's meta and, in its own short transaction, on the statement."""
    from rq import get_current_job
    from sqlalchemy import update

    from insurer_dms.extensions import db
    from insurer_dms.sims.models import Statement

    current = get_current_job()
    # SQLite allows one writer at a time: the run holds it, so the page only sees the end there.
    to_database = db.engine.dialect.name != "sqlite"

    def report(percent):
        if current is not None:
            current.meta["progress"] = percent
            current.save_meta()
        if to_database:
            with db.engine.begin() as conn:
                conn.execute(update(Statement).where(Statement.id == statement_id).values(progress=percent))

    return report


def _locked(statement_id):
    """The statement as it is now, its row locked for this transaction (a newer version may have superseded it
    since it was read: that status is never written over)."""
    from insurer_dms.extensions import db
    from insurer_dms.sims.models import Statement

    return db.session.get(Statement, statement_id, with_for_update=True, populate_existing=True)


def _record_failure(statement_id, err):
    """Keep the reason on the statement, in a short transaction of its own (the run's was rolled back)."""
    from rq import get_current_job

    from insurer_dms.extensions import db

    current = get_current_job()
    retrying = current is not None and (current.retries_left or 0) > 0
    reason = f"{type(err).__name__}: {err}"[:1000]
    statement = _locked(statement_id)
    if statement is not None:
        if statement.status != "superseded":
            statement.status = "queued" if retrying else "failed"
        statement.error = ("will retry: " if retrying else "") + reason
        db.session.commit()


@job
def reconcile_statement(statement_id):
    """Reconcile one statement version: status running, progress, then done (or failed with the reason); a version
    superseded meanwhile stays superseded, a held or rejected one is left alone."""
    from flask import current_app
    from rq import get_current_job

    from insurer_dms.extensions import db
    from insurer_dms.sims import reconciliation
    from insurer_dms.sims.models import HELD_STATES

    statement = _locked(statement_id)
    if statement is None:
        current_app.logger.warning("statement %s no longer exists; nothing to reconcile", statement_id)
        return None
    if statement.status in HELD_STATES:  # waiting for an operator's confirmation, or rejected: never reconciled
        db.session.commit()
        current_app.logger.warning("statement %s is %s; not reconciled", statement_id, statement.status)
        return {"statement_id": statement_id, "status": statement.status, "lines": statement.line_count}
    current = get_current_job()
    if statement.status != "superseded":
        statement.status = "running"
    statement.progress, statement.error = 0, None
    if current is not None:
        statement.job_id = current.id
    db.session.commit()
    try:
        result = reconciliation.reconcile(statement_id, progress=_progress_writer(statement_id))
    except Exception as err:  # recorded for the statement page, then re-raised so RQ retries it
        db.session.rollback()
        current_app.logger.exception("reconciliation of statement %s failed", statement_id)
        _record_failure(statement_id, err)
        raise
    if result["status"] == "done":  # zero usage on installed devices -> device_offline tickets, in a job of its own
        from insurer_dms.queue import enqueue

        enqueue("jobs.maintenance_signals.statement_zero_usage", statement_id)
    if current is not None:
        current.meta["progress"] = 100
        current.save_meta()
    return {"statement_id": statement_id, "status": result["status"], "lines": result["lines"]}
