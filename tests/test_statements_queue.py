"""Statements and the queue: Redis down at upload, the sweep once it is back, the drop-folder pick-up, CLI and cron."""
import importlib
import sys

import pytest
from rq import Queue
from rq.job import Job
from sqlalchemy import func, select

from insurer_dms.activity import Activity
from insurer_dms.extensions import db
from insurer_dms.sims.models import Statement, StatementLine
from insurer_dms.sims.statements import RECONCILE_JOB, ingest_statement, pick_up_dropped, sweep_queued
from insurer_dms.storage import storage
from tests.factories import csv_bytes, upload, xlsx_bytes
from tests.test_statements_ingest import EN, ZH, lines, no_statement_objects  # noqa: F401  (autouse fixture)

URL = "/api/statements"
REDIS_DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once


@pytest.fixture
def redis_down(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_DOWN)


def queue(app, rq_worker):
    return Queue(app.config["RQ_QUEUE"], connection=rq_worker.connection)


def statement(app, statement_id):
    with app.app_context():
        return db.session.get(Statement, statement_id)


# ---------------------------------------------------------------- Redis down, then back


def test_upload_while_redis_is_down_is_stored_and_stays_queued(app, ops, redis_down):
    data = csv_bytes(EN, lines(5))
    resp = upload(ops, URL, data, "september.csv")
    assert resp.status_code == 202, resp.json
    assert resp.json["status"] == "queued" and resp.json["job_id"] is None
    with app.app_context():
        assert storage().get(resp.json["object_key"]) == data
        assert db.session.scalar(select(func.count()).select_from(StatementLine)) == 5


def test_sweep_enqueues_what_was_left_queued_once_redis_is_back(app, ops, redis_down, rq_worker):
    first = upload(ops, URL, csv_bytes(EN, lines(5)), "a.csv").json
    second = upload(ops, URL, csv_bytes(EN, lines(5, period="2026-10")), "b.csv").json
    with app.app_context():
        assert sweep_queued()["redis_down"] is True  # still down: nothing lost, nothing raised

    with rq_worker.configured(), app.app_context():
        counts = sweep_queued()
    assert counts == {"pending": 2, "enqueued": 2, "in_queue": 0, "redis_down": False}
    jobs = {s: statement(app, s).job_id for s in (first["id"], second["id"])}
    assert all(jobs.values())
    assert set(queue(app, rq_worker).job_ids) == set(jobs.values())
    job = Job.fetch(jobs[first["id"]], connection=rq_worker.connection)
    assert job.func_name == RECONCILE_JOB and job.args == (first["id"],)
    assert job.retries_left == 3  # jobs.reconcile.RETRY

    with rq_worker.configured(), app.app_context():  # idempotent: a second sweep finds them waiting
        assert sweep_queued() == {"pending": 2, "enqueued": 0, "in_queue": 2, "redis_down": False}
    assert len(queue(app, rq_worker)) == 2


def test_sweep_replaces_a_job_that_failed_or_vanished(app, ops, rq_worker):
    with rq_worker.configured():
        body = upload(ops, URL, csv_bytes(EN, lines(3)), "a.csv").json
    assert body["status"] == "queued" and body["job_id"] in queue(app, rq_worker).job_ids
    rq_worker.connection.flushdb()  # Redis lost its data (restart without persistence)
    with rq_worker.configured(), app.app_context():
        assert sweep_queued()["enqueued"] == 1
    new_id = statement(app, body["id"]).job_id
    assert new_id != body["job_id"] and queue(app, rq_worker).job_ids == [new_id]


def test_sweep_api_answers_while_redis_is_down(ops, redis_down):
    upload(ops, URL, csv_bytes(EN, lines(2)), "a.csv")
    resp = ops.post(f"{URL}/sweep")
    assert resp.status_code == 200
    assert resp.json == {"pending": 1, "enqueued": 0, "in_queue": 0, "redis_down": True}


def test_sweep_api_enqueues_with_redis_back(app, ops, redis_down, rq_worker):
    body = upload(ops, URL, csv_bytes(EN, lines(2)), "a.csv").json
    with rq_worker.configured():
        resp = ops.post(f"{URL}/sweep")
    assert resp.json["enqueued"] == 1
    assert statement(app, body["id"]).job_id in queue(app, rq_worker).job_ids


# ---------------------------------------------------------------- drop folder


def test_dropped_files_are_picked_up_and_a_bad_one_does_not_block_the_others(app, redis_down):
    good = csv_bytes(ZH, lines(4)).decode().encode("utf-8-sig")
    wrong_month = csv_bytes(EN, lines(3, prefix="898601"))  # September lines dropped as October
    with app.app_context():
        store = storage()
        store.put("statements/china_mobile/2026-09.csv", good)
        store.put("statements/china_unicom/2026-10.csv", wrong_month)
        store.put("statements/china_telecom/2026-09.xlsx", xlsx_bytes(EN, lines(2, prefix="898603")))
        store.put("statements/notes.txt", b"not a statement")
        store.put("statements/china_mobile/september.csv", good)  # not <YYYY-MM>: left alone

        result = pick_up_dropped()
        assert len(result["ingested"]) == 2 and result["failed"] == ["statements/china_unicom/2026-10.csv"]
        picked = {(s.carrier, s.period, s.line_count, s.status) for s in db.session.scalars(select(Statement))}
        assert picked == {("china_mobile", "2026-09", 4, "queued"), ("china_telecom", "2026-09", 2, "queued")}
        failure = db.session.scalar(select(Activity).where(Activity.entity_type == "statement_drop"))
        assert failure.entity_id == "statements/china_unicom/2026-10.csv" and failure.action == "pickup_failed"
        assert [r["row"] for r in failure.after["rows"]] == [2, 3, 4]
        assert "differs from the statement's period 2026-10" in failure.after["rows"][0]["message"]

        again = pick_up_dropped()  # every 5 minutes: nothing new, the refused file is not retried
        assert again == {"ingested": [], "held": [], "skipped": 3, "failed": []}
        assert db.session.scalar(select(func.count()).select_from(Activity).where(Activity.entity_type == "statement_drop")) == 1

        store.put("statements/china_unicom/2026-10.csv", csv_bytes(EN, lines(3, prefix="898601", period="2026-10")))
        fixed = pick_up_dropped()  # the carrier dropped a corrected file under the same name
        assert len(fixed["ingested"]) == 1 and fixed["skipped"] == 2


def test_dropped_file_for_a_month_already_uploaded_becomes_the_next_version(app, ops, redis_down):
    v1 = upload(ops, URL, csv_bytes(EN, lines(3)), "upload.csv").json
    with app.app_context():
        storage().put("statements/china_mobile/2026-09.csv", csv_bytes(EN, lines(4)))
        new_id = pick_up_dropped()["ingested"][0]
        assert db.session.get(Statement, new_id).version == 2
        assert db.session.get(Statement, v1["id"]).superseded_by_id == new_id


# ---------------------------------------------------------------- jobs, CLI, cron


def test_jobs_run_the_sweep_and_the_pick_up(app, redis_down):
    from jobs.statements import pick_up, sweep

    with app.app_context():
        storage().put("statements/china_mobile/2026-09.csv", csv_bytes(EN, lines(2)))
        assert len(pick_up()["ingested"]) == 1
        assert sweep()["redis_down"] is True


def test_cli_commands(app, redis_down):
    with app.app_context():
        storage().put("statements/china_mobile/2026-09.csv", csv_bytes(EN, lines(2)))
        storage().put("statements/china_mobile/2026-10.csv", b"iccid\n1\n")
    runner = app.test_cli_runner()
    picked = runner.invoke(args=["statements", "pick-up"])
    assert picked.exit_code == 0, picked.output
    assert "ingested 1, skipped 0, failed 1" in picked.output and "statements/china_mobile/2026-10.csv" in picked.output
    swept = runner.invoke(args=["statements", "sweep"])
    assert swept.exit_code == 1 and "Redis is down" in swept.output


def test_cli_sweep_enqueues_with_redis_back(app, redis_down, rq_worker):
    with app.app_context():
        ingest_statement(csv_bytes(EN, lines(2)), "a.csv")
    with rq_worker.configured():
        swept = app.test_cli_runner().invoke(args=["statements", "sweep"])
    assert swept.exit_code == 0 and "enqueued 1" in swept.output
    assert len(queue(app, rq_worker)) == 1


def test_cron_config_runs_sweep_and_pick_up_every_five_minutes(app):
    from rq import cron

    sys.modules.pop("cron", None)
    cron._job_data_registry.clear()
    importlib.import_module("cron")
    registered = {(f"{j['func'].__module__}.{j['func'].__name__}", j["cron"], j["queue_name"]) for j in cron._job_data_registry}
    assert registered >= {("jobs.statements.sweep", "*/5 * * * *", app.config["RQ_QUEUE"]),
                          ("jobs.statements.pick_up", "*/5 * * * *", app.config["RQ_QUEUE"])}


def test_pick_up_job_runs_on_a_real_worker(app, rq_worker):
    with app.app_context():
        storage().put("statements/china_mobile/2026-09.csv", csv_bytes(EN, lines(3)))
    rq_worker.enqueue("jobs.statements.pick_up")
    rq_worker.run()
    with app.app_context():
        picked = db.session.scalars(select(Statement)).all()
        assert [(s.carrier, s.period, s.line_count) for s in picked] == [("china_mobile", "2026-09", 3)]
        assert picked[0].job_id  # its reconciliation was enqueued by the worker (and run by it: not this test's business)
