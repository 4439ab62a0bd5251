"""Time the bulk imports on realistic volumes and print the figures.

    .venv/bin/python benchmarks/imports.py [--rows 5000] [--database-url URL]

Uses a throwaway database: PostgreSQL database `idms_bench` (created if missing) when PostgreSQL answers,
else a temporary SQLite file. Prints one line per measurement; asserts nothing.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _database_url(given, name="idms_bench"):
    """``given``, else PostgreSQL database ``name`` on 127.0.0.1 (created if missing), else a temporary SQLite file."""
    if given:
        return given
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=0.5).close()
    except OSError:
        return "sqlite:///" + os.path.join(tempfile.mkdtemp(), "bench.sqlite3")
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = _database_url(args.database_url)

    from flask_migrate import upgrade

    from insurer_dms import create_app
    from insurer_dms.activity import set_system_actor
    from insurer_dms.fleet.samples import ExportBuilder, to_csv, to_xlsx
    from insurer_dms.fleet.service import import_policy_export
    from tests.schema import drop_everything

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": None})
    with app.app_context():
        drop_everything()
        upgrade()
        set_system_actor("benchmark")
        rows = ExportBuilder(seed=99).rows(args.rows)
        csv_bytes, xlsx_bytes = to_csv(rows), to_xlsx(rows)
        print(f"database: {url.split('@')[-1]}; policy-export rows: {len(rows)}")
        for label, data, name in (("csv first import", csv_bytes, "export.csv"), ("csv re-import (unchanged)", csv_bytes, "export.csv"),
                                  ("xlsx re-import (unchanged)", xlsx_bytes, "export.xlsx")):
            started = time.perf_counter()
            result = import_policy_export(data, name)
            elapsed = time.perf_counter() - started
            print(f"{label:28s} {elapsed:6.2f} s  {len(rows) / elapsed:8.0f} rows/s  policies {result['policies']}")


if __name__ == "__main__":
    main()
