"""Time the streaming ingest of a carrier statement (parse, check, COPY) and print the figures.

    .venv/bin/python benchmarks/statement_ingest.py [--lines 100000] [--database-url URL] [--xlsx]

Uses a throwaway database: PostgreSQL database `idms_bench` (created if missing) when PostgreSQL answers,
else a temporary SQLite file. Redis is pointed at a closed port, so the reconciliation is not run and the statement stays queued: the time
is the upload's alone (benchmarks/reconcile.py times upload-to-reconciled). Prints; asserts nothing.
"""
import argparse
import io
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.imports import _database_url  # noqa: E402


def statement_csv(lines, period="2026-09", seed=4):
    """A China Mobile statement of ``lines`` valid lines with Chinese headers, UTF-8 with BOM."""
    from insurer_dms.luhn import check_digit

    rnd = random.Random(seed)
    out = io.StringIO()
    out.write("\ufeffICCID,号码,账期,使用流量(KB),短信(条),套餐费(元),超套费(元),合计(元)\r\n")
    for n in range(lines):
        body = f"898600{n:013d}"
        plan = rnd.choice(("10.00", "20.00", "45.50"))
        over = "0.00" if rnd.random() < 0.9 else f"{rnd.randint(1, 3000) / 100:.2f}"
        total = f"{float(plan) + float(over):.2f}"
        out.write(f"{body}{check_digit(body)},{1440000000000 + n},{period},{rnd.randint(0, 12_000_000)},{rnd.randint(0, 40)},"
                  f"{plan},{over},{total}\r\n")
    return out.getvalue().encode("utf-8")


def statement_xlsx(data):
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    for line in data.decode("utf-8-sig").splitlines():
        sheet.append(line.split(","))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--xlsx", action="store_true", help="also time the same lines as an XLSX workbook")
    args = parser.parse_args()
    url = _database_url(args.database_url)

    from insurer_dms import create_app
    from insurer_dms.extensions import db
    from insurer_dms.sims.statements import ingest_statement
    from tests.schema import build_schema

    objects = tempfile.mkdtemp(prefix="idms-bench-objects-")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": "redis://127.0.0.1:1/0", "S3_BUCKET": None, "OBJECTS_DIR": objects})
    with app.app_context():
        build_schema()
        started = time.perf_counter()
        data = statement_csv(args.lines)
        print(f"generated {args.lines:,} lines ({len(data) / 1e6:.1f} MB) in {time.perf_counter() - started:.2f} s")
        files = [("statement.csv", data)]
        if args.xlsx:
            files.append(("statement.xlsx", statement_xlsx(data.replace(b"2026-09", b"2026-10"))))
        for name, payload in files:
            started = time.perf_counter()
            statement, _ = ingest_statement(payload, name)
            elapsed = time.perf_counter() - started
            print(f"{db.engine.dialect.name}: ingested {statement.line_count:,} lines of {name} in {elapsed:.2f} s "
                  f"({statement.line_count / elapsed:,.0f} lines/s), billed {statement.billed_total}")
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if url.startswith("sqlite"):
        os.unlink(url.removeprefix("sqlite:///"))


if __name__ == "__main__":
    main()
