"""Background jobs: a real RQ worker process runs what the app enqueues; without Redis jobs run inline."""
from sqlalchemy import select

from insurer_dms.activity import Activity
from insurer_dms.extensions import db
from insurer_dms.queue import enqueue


def heartbeats():
    return db.session.scalars(select(Activity).where(Activity.action == "heartbeat")).all()


def test_worker_process_runs_an_enqueued_heartbeat(app, rq_worker):
    job = rq_worker.enqueue("jobs.system.record_heartbeat", note="from the test")
    assert job.get_status() == "queued"
    with app.app_context():
        assert heartbeats() == []  # nothing ran in the test process

    rq_worker.run()

    with app.app_context():
        (entry,) = heartbeats()
        assert entry.entity_type == "worker"
        assert entry.note == "from the test"
        assert entry.actor == "job:jobs.system.record_heartbeat"
        assert entry.actor_id is None
    job.refresh()
    assert job.get_status() == "finished"
    assert job.return_value() == entry.id


def test_worker_with_an_empty_queue_stops_at_once(rq_worker):
    result = rq_worker.run(timeout=60)
    assert result.returncode == 0


def test_without_redis_enqueue_runs_the_job_inline(app, ctx):
    assert app.config["REDIS_URL"] is None
    entry_id = enqueue("jobs.system.record_heartbeat", note="inline")
    (entry,) = heartbeats()
    assert entry.id == entry_id
    assert entry.note == "inline"
