"""Time the operations home with the demo data loaded, server-side, and print the figures.

    .venv/bin/python benchmarks/home.py [--requests 50] [--trucks 2000] [--database-url URL]

Uses a throwaway database: PostgreSQL database `idms_bench_home` (created if missing, emptied) when PostgreSQL
answers, else a temporary SQLite file. Loads the demo (`flask demo load`: the Chaozhou fleet, purchases, installs,
a reconciled statement), then sends N GET /home requests as the demo's operations user through the WSGI app (no
network): median, p95 and slowest request time, the SQL statements per request, and how long `home_figures()` alone
takes. Asserts nothing.
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _database_url(given):
    from benchmarks.imports import _database_url as throwaway

    return throwaway(given, "idms_bench_home")


def _percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--trucks", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = _database_url(args.database_url)

    from flask_migrate import upgrade
    from sqlalchemy import event, func, select

    from insurer_dms import create_app
    from insurer_dms.activity import set_system_actor
    from insurer_dms.auth.models import User
    from insurer_dms.auth.service import create_token
    from insurer_dms.demo import OPS_EMAIL, load_demo
    from insurer_dms.extensions import db
    from insurer_dms.fleet.models import Truck
    from insurer_dms.ledger.models import LedgerEntry
    from insurer_dms.web.service import home_figures
    from tests.schema import drop_everything

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None, "S3_BUCKET": None,
                      "OBJECTS_DIR": tempfile.mkdtemp(prefix="idms-bench-objects-")})
    with app.app_context():
        drop_everything()
        upgrade()
        set_system_actor("benchmark")
        started = time.perf_counter()
        for _line in load_demo(trucks=args.trucks):
            pass
        loaded = time.perf_counter() - started
        trucks = db.session.scalar(select(func.count()).select_from(Truck))
        entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
        _, token = create_token(db.session.scalar(select(User).where(User.email == OPS_EMAIL)), "benchmark")
        print(f"database: {url.split('@')[-1]}; demo loaded in {loaded:.1f} s: {trucks} trucks, {entries} ledger entries")

        timings = []
        with app.test_request_context("/home"):  # labels are translated for a request's language
            for _ in range(5):
                home_figures()
                db.session.remove()
            for _ in range(args.requests):
                started = time.perf_counter()
                home_figures()
                timings.append(time.perf_counter() - started)
                db.session.remove()
        print(f"home_figures()            median {statistics.median(timings) * 1000:7.1f} ms   "
              f"p95 {_percentile(timings, 0.95) * 1000:7.1f} ms")

    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/home", headers=headers).status_code == 200  # warm-up (templates, token last-use)
    counts, timings = [], []
    statements = []
    record = lambda *a: statements.append(a[2])  # noqa: E731
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    for _ in range(args.requests):
        statements.clear()
        started = time.perf_counter()
        response = client.get("/home", headers=headers)
        timings.append(time.perf_counter() - started)
        counts.append(len(statements))
        assert response.status_code == 200
    event.remove(engine, "before_cursor_execute", record)
    print(f"GET /home x {args.requests:<5d}        median {statistics.median(timings) * 1000:7.1f} ms   "
          f"p95 {_percentile(timings, 0.95) * 1000:7.1f} ms   slowest {max(timings) * 1000:7.1f} ms   "
          f"SQL statements per request {min(counts)}-{max(counts)} ({len(response.get_data())} bytes of HTML)")


if __name__ == "__main__":
    main()
