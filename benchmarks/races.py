"""Race work-order creation over HTTP under gunicorn on PostgreSQL and print what the requests were answered.

    .venv/bin/python benchmarks/races.py [--trucks 20] [--per-truck 3] [--rounds 5] [--workers 4] [--threads 4]
                                         [--database-url URL] [--port 8765]

Uses a throwaway database: PostgreSQL database `idms_bench_races` (created if missing, emptied). Starts gunicorn
(`wsgi:app`, gthread workers) on loopback against it, then, each round, makes `--trucks` new insured heavy trucks and
sends `--trucks x --per-truck` POST /api/work-orders at once (one thread and connection each, released together),
as an operations user with a bearer token. Prints the status counts of each round and the orders stored per truck.
A correct server answers 201 once per truck and 409 (raced past the check: the database's index refused it) or 422
(the check saw the winner's order) to the others, never 5xx, and stores exactly one order per truck. Asserts nothing.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _database_url(given):
    from benchmarks.imports import _database_url as throwaway

    url = throwaway(given, "idms_bench_races")
    if not url.startswith("postgresql"):
        sys.exit("This benchmark needs PostgreSQL (SQLite has a single writer): start it or give --database-url.")
    return url


def _prepare(url):
    """An empty schema and an operations user; returns (app, bearer token)."""
    from flask_migrate import upgrade

    from insurer_dms import create_app
    from insurer_dms.activity import set_system_actor
    from insurer_dms.auth.service import create_token, create_user
    from insurer_dms.extensions import db
    from tests.schema import drop_everything

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "S3_BUCKET": None,
                      "OBJECTS_DIR": tempfile.mkdtemp(prefix="idms-bench-objects-")})
    with app.app_context():
        drop_everything()
        upgrade()
        set_system_actor("benchmark")
        user, _ = create_user("ops@bench.example.cn", "ops", "bench-password")
        _, token = create_token(user, "benchmark")
        db.session.remove()
    return app, token


def _trucks(app, count):
    """``count`` new insured heavy trucks: [truck id]."""
    from insurer_dms.extensions import db
    from tests import install_factories as f

    with app.app_context():
        ids = [f.insured_truck().id for _ in range(count)]
        db.session.remove()
    return ids


def _orders_per_truck(app, truck_ids):
    from sqlalchemy import func, select

    from insurer_dms.extensions import db
    from insurer_dms.installs.models import WorkOrder

    with app.app_context():
        rows = db.session.execute(select(WorkOrder.truck_id, func.count()).where(WorkOrder.truck_id.in_(truck_ids))
                                  .group_by(WorkOrder.truck_id)).all()
        db.session.remove()
    return collections.Counter(dict(rows))


def _start_server(url, port, workers, threads):
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "benchmark-only", "OBJECTS_DIR": tempfile.mkdtemp()}
    env.pop("REDIS_URL", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "--workers", str(workers), "--threads", str(threads), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "wsgi:app"],
        cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server
        except OSError:
            if server.poll() is not None:
                sys.exit("gunicorn did not start")
            time.sleep(0.3)
    server.terminate()
    sys.exit("gunicorn did not answer within 60 s")


def _create(base, token, truck_id):
    request = urllib.request.Request(
        f"{base}/api/work-orders", data=json.dumps({"truck_id": truck_id}).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def _round(base, token, truck_ids, per_truck):
    plan = [truck_id for truck_id in truck_ids for _ in range(per_truck)]
    barrier = threading.Barrier(len(plan))
    answers = [None] * len(plan)

    def send(i, truck_id):
        barrier.wait()
        answers[i] = _create(base, token, truck_id)

    threads = [threading.Thread(target=send, args=(i, truck_id)) for i, truck_id in enumerate(plan)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trucks", type=int, default=20)
    parser.add_argument("--per-truck", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = _database_url(args.database_url)
    app, token = _prepare(url)
    server = _start_server(url, args.port, args.workers, args.threads)
    base = f"http://127.0.0.1:{args.port}"
    print(f"database: {url.split('@')[-1]}; gunicorn: {args.workers} workers x {args.threads} threads; "
          f"{args.trucks * args.per_truck} creates for {args.trucks} trucks per round")
    totals = collections.Counter()
    try:
        for number in range(1, args.rounds + 1):
            truck_ids = _trucks(app, args.trucks)
            answers, seconds = _round(base, token, truck_ids, args.per_truck)
            counts = collections.Counter(status for status, _ in answers)
            totals.update(counts)
            stored = _orders_per_truck(app, truck_ids)
            one_each = sum(1 for truck_id in truck_ids if stored[truck_id] == 1)
            race_words = {body["message"] for status, body in answers if status == 409}
            print(f"round {number}: " + ", ".join(f"{status} x{n}" for status, n in sorted(counts.items()))
                  + f"; trucks with exactly one order {one_each}/{args.trucks}; {seconds:.2f} s"
                  + (f"; a 409 says e.g. {sorted(race_words)[0]!r}" if race_words else ""))
    finally:
        server.terminate()
        server.wait(30)
    server_errors = sum(n for status, n in totals.items() if status >= 500)
    print("all rounds: " + ", ".join(f"{status} x{n}" for status, n in sorted(totals.items()))
          + f"; 5xx: {server_errors}")


if __name__ == "__main__":
    main()
