"""The reconciliation job on a real RQ worker: progress, done, failure with its reason, a kill mid-run, and a version
superseded while its run is in progress."""
import os
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal

import pytest
from rq.job import Job
from sqlalchemy import func, select
from sqlalchemy.orm import close_all_sessions

from insurer_dms.extensions import db
from insurer_dms.ledger.models import LedgerEntry
from insurer_dms.sims import reconciliation
from insurer_dms.sims.models import ReconciliationResult, Statement
from insurer_dms.sims.statements import ingest_statement
from jobs.reconcile import RETRY
from tests import statement_factories as sf
from tests.conftest import PROJECT_ROOT
from tests.factories import csv_bytes, upload
from tests.test_reconciliation import a_clean_run, ledger_total, snapshot
from tests.test_reconciliation import results as all_results
from tests.test_statements_confirmation import cut_at_a_line, entries_of, parts
from tests.test_statements_ingest import EN, lines

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


# ---------------------------------------------------------------- superseded while the run is in progress


def _postgresql_only(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has one writer: no newer version can commit while a run writes")


def _one_version_done_and_the_ledger_moved_once(ops, v1, v2):
    """v1 stays superseded by v2 (it booked its lines, which v2's run reversed, once each); v2 is done, booked once."""
    old = db.session.get(Statement, v1)
    assert (old.status, old.superseded_by_id) == ("superseded", v2)
    assert old.booked_at is not None and old.finished_at is not None  # the run finished, booking v1 as it began
    assert db.session.get(Statement, v2).status == "done"
    assert [s["id"] for s in ops.get("/api/statements?status=done&period=2026-09").json["items"]] == [v2]
    booked, reversals = entries_of(v1)
    assert booked and sorted(r.reverses_id for r in reversals) == sorted(e.id for e in booked)
    booked2, reversals2 = entries_of(v2)
    assert booked2 and reversals2 == []
    assert ledger_total() == parts(v2)


@pytest.mark.parametrize("how", ["upload", "confirmation"])
def test_a_version_superseded_while_its_run_is_in_progress_stays_superseded(app, ops, rq_worker, how):
    """A real worker runs version 1 slowly; meanwhile version 2 supersedes it (uploaded, or held then confirmed) and
    is reconciled inline, waiting for version 1's run. Version 1 ends superseded, never done again."""
    _postgresql_only(app)
    full = csv_bytes(EN, lines(120))
    with rq_worker.configured():
        v1 = upload(ops, "/api/statements", full, "september.csv").json  # queued for the worker
        if how == "confirmation":
            held = upload(ops, "/api/statements", cut_at_a_line(full, 90), "september-cut.csv").json
            assert held["status"] == "needs_confirmation"
    job = Job.fetch(v1["job_id"], connection=rq_worker.connection)
    close_all_sessions()
    env = {**rq_worker.environment(), "RECONCILE_STEP_DELAY": "2"}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"], cwd=PROJECT_ROOT,
                              env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while (job.get_meta(refresh=True).get("progress") or 0) < 5:  # version 1 began as the month's current one
            assert time.monotonic() < deadline, "the job never got going"
            assert worker.poll() is None, worker.stdout.read().decode()
            time.sleep(0.1)
        if how == "upload":  # reconciled inline (no Redis for the app): waits for version 1's run to finish
            v2 = upload(ops, "/api/statements", csv_bytes(EN, lines(120, start=1000)), "september-final.csv").json
        else:
            v2 = ops.post(f"/api/statements/{held['id']}/confirm").json
        assert v2["status"] == "done", v2
        output, _ = worker.communicate(timeout=120)
        assert worker.returncode == 0, output.decode()
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    job.refresh()
    assert job.return_value()["status"] == "superseded"
    with app.app_context():
        _one_version_done_and_the_ledger_moved_once(ops, v1["id"], v2["id"])


def test_a_run_that_an_upload_supersedes_between_its_steps_does_not_write_done_over_it(app, ops, monkeypatch):
    """The same in one process, two sessions: the run's progress callback lets another thread store version 2 (its
    reconciliation left queued) while version 1's run holds its booking uncommitted; version 1 finishes superseded
    and version 2's run then reverses what version 1 booked."""
    _postgresql_only(app)
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # uploads stay queued: nothing runs inline
    v1 = upload(ops, "/api/statements", csv_bytes(EN, lines(50)), "september.csv").json
    stored = []

    def upload_beside():
        with app.app_context():
            statement, _ = ingest_statement(csv_bytes(EN, lines(50, start=500)), "september-final.csv")
            stored.append(statement.id)

    def progress(percent):
        if percent == 40 and not stored:  # version 1's lines are booked, not committed
            thread = threading.Thread(target=upload_beside)
            thread.start()
            thread.join(timeout=60)
            assert stored, "the upload beside the run did not finish"

    with app.app_context():
        assert reconciliation.reconcile(v1["id"], progress=progress)["status"] == "superseded"
        (v2,) = stored
        assert db.session.get(Statement, v1["id"]).status == "superseded"
        reconciliation.reconcile(v2)
        _one_version_done_and_the_ledger_moved_once(ops, v1["id"], v2)
