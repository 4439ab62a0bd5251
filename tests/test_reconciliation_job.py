"""The reconciliation job on a real RQ worker: progress, done, failure with its reason, and a kill mid-run."""
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import close_all_sessions

from insurer_dms.extensions import db
from insurer_dms.ledger.models import LedgerEntry
from insurer_dms.sims import reconciliation
from insurer_dms.sims.models import ReconciliationResult, Statement
from jobs.reconcile import RETRY
from tests import statement_factories as sf
from tests.conftest import PROJECT_ROOT
from tests.test_reconciliation import a_clean_run, ledger_total, snapshot
from tests.test_reconciliation import results as all_results

JOB = "jobs.reconcile.reconcile_statement"


def counts():
    return (db.session.scalar(select(func.count()).select_from(ReconciliationResult)),
            db.session.scalar(select(func.count()).select_from(LedgerEntry)))


def test_a_real_worker_reconciles_a_statement_with_progress(app, rq_worker):
    with app.app_context():
        st = sf.mixed_month(200).id
    job = rq_worker.enqueue(JOB, st, retry=RETRY)
    rq_worker.run()
    job.refresh()
    assert job.get_status() == "finished"
    assert job.meta["progress"] == 100
    with app.app_context():
        statement = db.session.get(Statement, st)
        assert (statement.status, statement.progress, statement.job_id, statement.error) == ("done", 100, job.id, None)
        assert job.return_value() == {"statement_id": st, "status": "done", "lines": statement.line_count}
        assert len(all_results(st)) == statement.line_count + reconciliation.summary(st)["outcomes"]["missing"]["count"]
        assert ledger_total() == statement.billed_total - Decimal("7.00")  # 7 inconsistent lines book their parts


def test_a_failing_run_is_recorded_with_its_reason(app, ctx, monkeypatch):
    from jobs.reconcile import reconcile_statement

    st = sf.mixed_month(20).id

    def broken(statement_id, progress=None):
        raise RuntimeError("disk full")

    monkeypatch.setattr(reconciliation, "reconcile", broken)
    try:
        reconcile_statement(st)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the job must re-raise so RQ retries it")
    db.session.expire_all()
    statement = db.session.get(Statement, st)
    assert (statement.status, statement.error) == ("failed", "RuntimeError: disk full")
    assert counts() == (0, 0)


def _children(pid):
    path = f"/proc/{pid}/task/{pid}/children"
    with open(path) as f:
        return [int(p) for p in f.read().split()]


def test_a_worker_killed_mid_run_leaves_nothing_and_a_rerun_completes(app, rq_worker):
    with app.app_context():
        st = sf.mixed_month(400).id
    job = rq_worker.enqueue(JOB, st, retry=RETRY)
    close_all_sessions()
    env = {**rq_worker.environment(), "RECONCILE_STEP_DELAY": "3"}  # config.py: test-only pause between steps
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"], cwd=PROJECT_ROOT,
                              env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while (job.get_meta(refresh=True).get("progress") or 0) < 45:  # results written, not committed
            assert time.monotonic() < deadline, "the job never got going"
            assert worker.poll() is None, worker.stdout.read().decode()
            time.sleep(0.1)
        (horse,) = _children(worker.pid)
        os.kill(horse, signal.SIGKILL)
        worker.wait(timeout=60)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    with app.app_context():
        assert counts() == (0, 0)  # nothing half-written
        statement = db.session.get(Statement, st)
        assert (statement.status, statement.finished_at) == ("running", None)

    rq_worker.enqueue(JOB, st)  # the re-run (the sweep or the re-run button does this)
    rq_worker.run()
    with app.app_context():
        assert db.session.get(Statement, st).status == "done"
        after_kill = snapshot(st)
        ledger = (counts()[1], ledger_total())
        # a clean run from nothing gives the very same results and ledger
        clean_results, clean_total = a_clean_run(st)
        assert clean_results == after_kill
        assert (counts()[1], clean_total) == ledger
