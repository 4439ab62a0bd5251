"""Time a carrier statement from upload to finished reconciliation, against the floor, on PostgreSQL.

    .venv/bin/python benchmarks/reconcile.py [--n 10000 100000 1000000] [--repeat K] [--steps] [--database-url URL]
                                             [--redis-url URL]

For each N, in a fresh schema (database `idms_recon_bench`, created if missing): N SIMs of China Mobile on three
plans, 30% of them in devices installed on trucks, and a statement file of about N lines with a realistic mix
(1% missing, 1% retired but billed, 1% overbilled, 1% underbilled, 1% duplicated, 1% not ours, 0.5% inconsistent,
10% zero usage, 2% far over allowance, 5% activated mid-month). Then it times:

* total: ``sims.statements.ingest_statement`` (the STATEMENT helper's streaming upload: parse, validate, COPY,
  object store, enqueue) until a real RQ worker process (``flask worker``) has finished the reconciliation job
  (results, ledger, statement done);
* floor: COPY of the same file into a plain table plus ONE SQL statement computing the same outcomes.

Each timed part starts after a VACUUM (ANALYZE) and a CHECKPOINT, so that neither pays for what the set-up or the other
part left behind (an autovacuum worker or dirty buffers).

It prints N, lines, ingest / reconcile / total seconds, floor seconds, the ratio, and the worker's peak RSS (the
largest of the worker and its work-horse: getrusage(RUSAGE_CHILDREN) of a small launcher process that started the
worker, so that the figure is the worker's own and not this process's pages, which a child forked from it would
count). With ``--steps`` it then replays the reconciliation in this process, the results and the ledger emptied
first, and prints the seconds of each SQL statement that took more than 10 ms. Asserts nothing.
Needs PostgreSQL and Redis (its database 13 is flushed).
"""
import argparse
import datetime as dt
import io
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PERIOD = "2026-09"
QUEUE = "bench-reconcile"
# Starts the worker and, once it has stopped, prints the peak RSS (KB) of the worker and its work-horses.
LAUNCHER = """
import resource, signal, subprocess, sys
worker = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
signal.signal(signal.SIGTERM, lambda *_: worker.send_signal(signal.SIGTERM))
worker.wait()
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""
PLANS = [("CM-IOT-1G", "10.00", 1024, "0.29"), ("CM-IOT-3G", "20.00", 3072, "0.20"), ("CM-IOT-10G", "45.50", 10240, "0.10")]


def _database_url(given):
    if given:
        return given
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'idms_recon_bench'").fetchone():
            conn.execute("CREATE DATABASE idms_recon_bench")
    return "postgresql+psycopg://postgres@127.0.0.1:5432/idms_recon_bench"


def _iccid(n):
    from insurer_dms.luhn import check_digit

    body = f"898600{n:013d}"
    return body + check_digit(body)


def _copy(conn, table, columns, rows):
    with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def build_world(n):
    """N SIMs on three plans, 30% installed on trucks (SQL and COPY; not timed)."""
    from insurer_dms.extensions import db

    conn = db.session.connection().connection.driver_connection
    cur = conn.cursor()
    for i, (code, fee, allowance, over) in enumerate(PLANS, 1):
        cur.execute("INSERT INTO data_plan (id, carrier, code, name, monthly_fee, allowance_mb, overage_per_mb, valid_from, created_at)"
                    " VALUES (%s, 'china_mobile', %s, %s, %s, %s, %s, '2021-01-01', now())", (i, code, code, fee, allowance, over))

    def sims():
        for i in range(n):
            status, activated, deactivated = "active", "2025-01-01", None
            if i % 100 == 1:
                status, deactivated = "retired", "2026-08-15"
            elif i % 20 == 8:
                activated = "2026-09-16"
            yield (i + 1, _iccid(i), f"1440{i:09d}", "china_mobile", i % 3 + 1, status, activated, deactivated, now)

    now = dt.datetime.now(dt.timezone.utc)
    _copy(conn, "sim", ["id", "iccid", "msisdn", "carrier", "plan_id", "status", "activated_on", "deactivated_on",
                        "created_at"], sims())
    cur.execute("""
        INSERT INTO catalogue_entry (id, tender_batch, lot, manufacturer, model_code, device_type, adas, dsm, bsd, video_channels,
            jtt808, jtt1078, gd_active_safety, bid_unit_price, valid_from, created_at)
        VALUES (1, 'GD-2021-01', '1', 'Streamax', 'C6D', 'all_in_one', true, true, false, 4, true, true, true, 2380, '2021-03-01', now());
        INSERT INTO purchase_order (id, number, supplier, order_date, created_at) VALUES (1, 'PO-BENCH', 'Streamax', '2021-03-01', now());
        INSERT INTO purchase_order_line (id, purchase_order_id, line_no, catalogue_entry_id, quantity, unit_price)
            VALUES (1, 1, 1, 1, 1000000, 2380);
        INSERT INTO operator (id, name, credit_code, county_code, created_at) VALUES (1, 'Bench Logistics', '91445100MA0000000X', '445102', now());
        CREATE TEMP TABLE bench_installed AS SELECT id AS sim_id FROM sim WHERE id % 10 IN (1, 4, 7);
        INSERT INTO device (id, serial, terminal_id, catalogue_entry_id, po_line_id, status, received_on, created_at)
            SELECT sim_id, 'SN' || sim_id, 'T' || sim_id, 1, 1, 'installed', '2021-03-10', now() FROM bench_installed;
        INSERT INTO truck (id, plate, plate_colour, vin, vehicle_type, total_mass_kg, county_code, operator_id, created_at)
            SELECT sim_id, 'B' || lpad(sim_id::text, 8, '0'), 2, 'V' || lpad(sim_id::text, 16, '0'), 'goods_vehicle', 18000,
                   '445102', 1, now() FROM bench_installed;
        INSERT INTO work_order (id, number, kind, state, truck_id, device_id, sim_id, needs_review, installed_at, created_at)
            SELECT sim_id, 'WO-' || sim_id, 'install', 'installed', sim_id, sim_id, sim_id, false, '2025-01-01 02:00+00', now()
            FROM bench_installed;
        INSERT INTO installation (device_id, truck_id, work_order_id, installed_at)
            SELECT sim_id, sim_id, sim_id, '2025-01-01 02:00+00' FROM bench_installed;
        INSERT INTO sim_assignment (sim_id, device_id, started_at) SELECT sim_id, sim_id, '2025-01-01 02:00+00' FROM bench_installed;
        SELECT setval('data_plan_id_seq', 10); SELECT setval('sim_id_seq', (SELECT max(id) FROM sim));
        ANALYZE;
    """)
    db.session.commit()


def statement_file(n):
    """The carrier's CSV for the month (English headers), about N lines with every outcome."""
    out = io.StringIO()
    out.write("iccid,msisdn,period,data_kb,sms_count,plan_fee,overage_fee,total_fee\n")
    lines = 0
    for i in range(n):
        if i % 100 == 0:
            continue  # missing
        code, fee, allowance, over = PLANS[i % 3]
        fee_fen = int(fee.replace(".", ""))
        if i % 20 == 8:
            fee_fen = (2 * fee_fen * 15 + 30) // 60  # 15 of 30 days, half-up
        kb = 0 if i % 10 == 6 else (i * 7919) % (allowance * 1024)
        if i % 50 == 7:
            kb = allowance * 1024 * 2 + i % 1000
        over_fen = 0
        if kb > allowance * 1024 and i % 20 != 8:
            over_fen = ((kb - allowance * 1024 + 1023) // 1024) * int(over.replace(".", ""))
        plan_fen = fee_fen + (500 if i % 100 == 2 else -300 if i % 100 == 3 else 0)
        total_fen = plan_fen + over_fen + (100 if i % 200 == 5 else 0)
        row = f"{_iccid(i)},1440{i:09d},{PERIOD},{kb},{i % 9},{plan_fen / 100:.2f},{over_fen / 100:.2f},{total_fen / 100:.2f}\n"
        out.write(row)
        lines += 1
        if i % 100 == 4:
            out.write(row)  # duplicated by the carrier
            lines += 1
        if i % 100 == 9:
            out.write(f"{_iccid(n + 10_000_000 + i)},1441{i:09d},{PERIOD},1000,0,{fee},0.00,{fee}\n")  # not ours
            lines += 1
    return out.getvalue().encode(), lines


FLOOR_SQL = """
WITH l AS (
    SELECT f.*, ROW_NUMBER() OVER (PARTITION BY f.iccid ORDER BY f.row_no) AS occurrence,
           CAST(f.total_fee * 100 AS BIGINT) AS billed_fen, f.plan_fee + f.overage_fee <> f.total_fee AS inconsistent
    FROM floor_line f
), s AS (
    SELECT s.id, s.iccid, s.carrier, p.monthly_fen, p.allowance_mb, p.overage_fen, {days} AS days
    FROM sim s LEFT JOIN {plans} p ON p.id = s.plan_id
), x AS (
    SELECT l.occurrence, s.id AS sim_id, s.days, l.billed_fen, l.inconsistent,
           CASE WHEN l.occurrence > 1 OR s.id IS NULL THEN 0
                ELSE CASE WHEN s.days > 0 THEN {plan_fen} ELSE 0 END + {overage_fen} END AS expected_fen
    FROM l LEFT JOIN s ON s.iccid = l.iccid
)
SELECT outcome, count(*) FROM (
    SELECT CASE WHEN occurrence > 1 THEN 'duplicate_line' WHEN sim_id IS NULL THEN 'unknown_sim'
                WHEN days = 0 AND billed_fen > 0 THEN 'inactive_billed' WHEN inconsistent THEN 'line_inconsistent'
                WHEN billed_fen - expected_fen > 1 THEN 'overbilled' WHEN expected_fen - billed_fen > 1 THEN 'underbilled'
                ELSE 'matched' END AS outcome
    FROM x
    UNION ALL
    SELECT 'missing' FROM s WHERE s.carrier = 'china_mobile' AND s.days > 0
       AND NOT EXISTS (SELECT 1 FROM floor_line f WHERE f.iccid = s.iccid)
) o GROUP BY outcome
"""


def checkpoint():
    """Leave PostgreSQL nothing to do in the background before a timed part: vacuum and analyse what the set-up (or
    the previous measurement) wrote, so that no autovacuum worker starts in the middle, and flush the buffers, so that
    neither timed part pays for the other's writes."""
    from sqlalchemy import text

    from insurer_dms.extensions import db

    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE)"))
        conn.execute(text("CHECKPOINT"))


def floor(data):
    """COPY the file into a plain table, then one statement computing every outcome; returns (seconds, counts)."""
    from insurer_dms.extensions import db
    from insurer_dms.sims import charges

    sql = FLOOR_SQL.format(
        days=charges.active_days_sql("postgresql", "s.status", "s.activated_on", "s.deactivated_on"),
        plans=charges.plans_in_fen_sql("postgresql"),
        plan_fen=charges.plan_part_fen_sql("s.monthly_fen", "s.days"),
        overage_fen=charges.overage_fen_sql("l.data_kb", "s.allowance_mb", "s.overage_fen", "s.days"))
    params = {k: v for k, v in charges.month_params(PERIOD).items()}
    conn = db.session.connection().connection.driver_connection
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS floor_line")
    cur.execute("CREATE UNLOGGED TABLE floor_line (iccid text, msisdn text, period text, data_kb bigint, sms_count int,"
                " plan_fee numeric(12,2), overage_fee numeric(12,2), total_fee numeric(12,2), row_no serial)")
    db.session.commit()
    checkpoint()
    started = time.perf_counter()
    with cur.copy("COPY floor_line (iccid, msisdn, period, data_kb, sms_count, plan_fee, overage_fee, total_fee)"
                  " FROM STDIN (FORMAT csv, HEADER true)") as copy:
        for start in range(0, len(data), 1 << 20):
            copy.write(data[start:start + (1 << 20)])
    psql = sql.replace(":month_first", "%(month_first)s").replace(":month_last", "%(month_last)s").replace(
        ":days_in_month", "%(days_in_month)s")
    counts = dict(cur.execute(psql, params).fetchall())
    conn.commit()
    return time.perf_counter() - started, counts


def replay_steps(statement_id):
    """Reconcile the statement again from nothing (results and ledger emptied), timing each SQL statement."""
    from sqlalchemy import event, text

    from insurer_dms.extensions import db
    from insurer_dms.sims.reconciliation import reconcile

    db.session.execute(text("TRUNCATE reconciliation_result, ledger_entry CASCADE"))  # the benchmark's own database
    db.session.execute(text("UPDATE statement SET booked_at = NULL"))
    db.session.commit()
    timings, started = [], {}

    def before(conn, cursor, statement, parameters, context, executemany):
        started["at"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        seconds = time.perf_counter() - started["at"]
        if seconds >= 0.01:
            words = " ".join(statement.split()).split(" ")
            timings.append([" ".join(words[:4 if words[0] == "CREATE" else 3]), round(seconds, 2)])

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        reconcile(statement_id)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    return timings


def one(n, url, redis_url, steps=False):
    """Measure one N; prints a JSON line."""
    from flask_migrate import upgrade
    from redis import Redis
    from rq import Worker

    from insurer_dms import create_app
    from insurer_dms.activity import set_system_actor
    from insurer_dms.extensions import db
    from insurer_dms.sims.models import Statement
    from tests.schema import drop_everything

    objects = tempfile.mkdtemp(prefix="bench-objects-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": redis_url, "RQ_QUEUE": QUEUE, "OBJECTS_DIR": objects})
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    with app.app_context():
        drop_everything()
        upgrade()
        set_system_actor("benchmark")
        build_world(n)
        data, lines = statement_file(n)
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "RQ_QUEUE": QUEUE, "OBJECTS_DIR": objects}
        worker = subprocess.Popen([sys.executable, "-c", LAUNCHER, sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  stdin=subprocess.DEVNULL, text=True)
        while not any(QUEUE in w.queue_names() for w in Worker.all(connection=redis)):
            time.sleep(0.1)
        from insurer_dms.sims.statements import ingest_statement

        checkpoint()
        started = time.perf_counter()
        statement, _created = ingest_statement(data, f"statement-{n}.csv", carrier="china_mobile")
        ingested = time.perf_counter()
        statement_id = statement.id
        while True:
            db.session.rollback()
            status = db.session.scalar(db.select(Statement.status).where(Statement.id == statement_id))
            if status in ("done", "failed"):
                break
            time.sleep(0.05)
        finished = time.perf_counter()
        worker.send_signal(signal.SIGTERM)
        rss_mb = int(worker.communicate()[0].strip()) / 1024
        from insurer_dms.sims.reconciliation import summary

        counts = {k: v["count"] for k, v in summary(statement_id)["outcomes"].items()} if status == "done" else {}
        floor_seconds, floor_counts = floor(data)
        db.session.commit()
        timings = replay_steps(statement_id) if steps and status == "done" else []
    redis.flushdb()
    print(json.dumps({"n": n, "lines": lines, "status": status, "ingest_s": round(ingested - started, 2),
                      "reconcile_s": round(finished - ingested, 2), "total_s": round(finished - started, 2),
                      "floor_s": round(floor_seconds, 2), "ratio": round((finished - started) / floor_seconds, 2),
                      "worker_peak_rss_mb": round(rss_mb), "outcomes": counts, "floor_outcomes": floor_counts,
                      "steps": timings}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--steps", action="store_true", help="also time each SQL statement of a replayed reconciliation")
    parser.add_argument("--repeat", type=int, default=1, help="measure each N this many times (fresh database each "
                        "time) and print the median ratio: on a shared machine one run can be off by a quarter")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: one N in its own process
    args = parser.parse_args()
    url = _database_url(args.database_url)
    if args.one:
        return one(args.one, url, args.redis_url, args.steps)
    print(f"database: {url.split('@')[-1]}; period {PERIOD}")
    print(f"{'N':>9} {'lines':>9} {'ingest s':>9} {'recon s':>8} {'total s':>8} {'floor s':>8} {'ratio':>6} {'worker RSS MB':>14}")
    for n in args.n:
        ratios = []
        for _ in range(args.repeat):
            # each run in a fresh process, so the worker's peak RSS is its own
            out = subprocess.run([sys.executable, __file__, "--one", str(n), "--database-url", url, "--redis-url",
                                  args.redis_url] + (["--steps"] if args.steps else []),
                                 capture_output=True, text=True, cwd=ROOT)
            if out.returncode != 0:
                print(out.stdout, out.stderr)
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            ratios.append(r["ratio"])
            print(f"{r['n']:>9} {r['lines']:>9} {r['ingest_s']:>9} {r['reconcile_s']:>8} {r['total_s']:>8}"
                  f" {r['floor_s']:>8} {r['ratio']:>6} {r['worker_peak_rss_mb']:>14}  {r['status']}")
            same = r["outcomes"] == {k: r["floor_outcomes"].get(k, 0) for k in r["outcomes"]}
            print(f"{'':>9} outcomes {r['outcomes']} (floor agrees: {same})")
            for label, seconds in r["steps"]:
                print(f"{'':>9} {seconds:>6.2f} s  {label}")
        if len(ratios) > 1:
            print(f"{n:>9} median ratio {statistics.median(ratios)} of {len(ratios)} runs ({min(ratios)} to {max(ratios)})")


if __name__ == "__main__":
    main()
