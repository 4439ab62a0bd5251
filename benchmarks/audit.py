"""Time a no-premium-increase audit of a city-sized fleet: the run (job body) and publishing.

    .venv/bin/python benchmarks/audit.py --database-url URL [--trucks 10000] [--years 5]

In a fresh schema at URL (everything in it is dropped): TRUCKS heavy trucks, each with a commercial and a
compulsory policy per year for YEARS years (so 2 x YEARS x TRUCKS policies), 60% of the trucks with a device
installed at a random time in the last two years, and a few renewals with a raised autonomous coefficient. Then it
times an audit of the last quarter (``audits.run.run_audit``, inline) and its publishing (inputs hash, CSV, XLSX,
PDF). Prints the figures; asserts nothing.
"""
import argparse
import datetime as dt
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _load(db, trucks, years, rng):
    from sqlalchemy import insert

    from insurer_dms.auth.models import ContractorCompany  # noqa: F401  (tables known)
    from insurer_dms.catalogue.models import CatalogueEntry
    from insurer_dms.fleet.models import Operator, Policy, Truck
    from insurer_dms.installs.models import Installation, WorkOrder
    from insurer_dms.inventory.models import Device, PurchaseOrder, PurchaseOrderLine

    today = dt.date(2026, 10, 1)
    counties = ("445102", "445103", "445122")
    db.session.execute(insert(CatalogueEntry), [{
        "id": 1, "tender_batch": "B", "lot": "1", "manufacturer": "M", "model_code": "X", "device_type": "all_in_one",
        "adas": True, "dsm": True, "bsd": False, "video_channels": 4, "jtt808": True, "jtt1078": True,
        "gd_active_safety": True, "bid_unit_price": Decimal("3000.00"), "valid_from": dt.date(2020, 1, 1)}])
    db.session.execute(insert(PurchaseOrder), [{"id": 1, "number": "PO-B", "supplier": "S", "order_date": dt.date(2020, 2, 1)}])
    db.session.execute(insert(PurchaseOrderLine), [{"id": 1, "purchase_order_id": 1, "line_no": 1, "catalogue_entry_id": 1,
                                                    "quantity": trucks, "unit_price": Decimal("2900.00")}])
    db.session.execute(insert(Operator), [{"id": i, "name": f"O{i}", "credit_code": f"{i:018d}", "county_code": counties[i % 3]}
                                          for i in range(1, trucks // 5 + 2)])
    db.session.execute(insert(Truck), [{"id": i, "plate": f"粤U{i:05d}", "plate_colour": 2, "vin": f"V{i:016d}",
                                        "vehicle_type": "goods_vehicle", "total_mass_kg": 18000,
                                        "county_code": counties[i % 3], "operator_id": i // 5 + 1}
                                       for i in range(1, trucks + 1)])
    policies, devices, orders, installations = [], [], [], []
    for truck in range(1, trucks + 1):
        start = today - dt.timedelta(days=rng.randrange(365))
        start = start.replace(day=28) if (start.month, start.day) == (2, 29) else start  # a start every year
        installed = rng.random() < 0.6
        installed_at = dt.datetime.combine(today - dt.timedelta(days=rng.randrange(730)), dt.time(2), dt.timezone.utc)
        raised = rng.random() < 0.02  # this year's commercial renewal with a higher autonomous coefficient
        for kind in ("commercial", "compulsory"):
            for year in range(years):
                begins = start.replace(year=start.year - year)
                autonomous = Decimal("1.0500") if raised and kind == "commercial" and year == 0 else Decimal("1.0000")
                benchmark, ncd = Decimal("10000.00"), Decimal("0.8500")
                policies.append({"number": f"P{truck:06d}{kind[:4]}{year}", "truck_id": truck, "kind": kind,
                                 "start_date": begins, "end_date": begins + dt.timedelta(days=364),
                                 "premium": (benchmark * ncd * autonomous).quantize(Decimal("0.01")),
                                 "benchmark_premium": benchmark, "ncd_coefficient": ncd,
                                 "autonomous_coefficient": autonomous, "violation_coefficient": Decimal("1.0000")})
        if installed:
            devices.append({"id": truck, "serial": f"S{truck}", "terminal_id": f"T{truck}", "catalogue_entry_id": 1,
                            "po_line_id": 1, "status": "installed", "received_on": dt.date(2020, 3, 1)})
            orders.append({"id": truck, "number": f"WO{truck}", "kind": "install", "state": "completed",
                           "truck_id": truck, "installed_at": installed_at, "device_id": truck})
            installations.append({"device_id": truck, "truck_id": truck, "work_order_id": truck, "installed_at": installed_at})
    for table, rows in ((Policy, policies), (Device, devices), (WorkOrder, orders), (Installation, installations)):
        for i in range(0, len(rows), 20_000):
            db.session.execute(insert(table), rows[i:i + 20_000])
    db.session.commit()
    return len(policies), len(installations)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--trucks", type=int, default=10_000)
    parser.add_argument("--years", type=int, default=5)
    args = parser.parse_args()

    import tempfile

    from insurer_dms import create_app
    from insurer_dms.audits import service
    from insurer_dms.extensions import db
    from tests.schema import build_schema

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "REDIS_URL": None, "S3_BUCKET": None,
                      "OBJECTS_DIR": tempfile.mkdtemp(prefix="audit-bench-")})
    with app.app_context():
        build_schema()
        started = time.perf_counter()
        policies, installations = _load(db, args.trucks, args.years, random.Random(6))
        print(f"trucks {args.trucks}, policies {policies}, installations {installations}: "
              f"loaded in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        audit = service.create_audit(dt.date(2026, 7, 1), dt.date(2026, 9, 30))
        ran = time.perf_counter() - started
        print(f"run: {ran:.2f} s, status {audit.status}, renewals audited {audit.renewals_audited}, "
              f"findings {audit.findings_count}, excess {audit.excess_total}")
        started = time.perf_counter()
        audit = service.publish(audit.id)
        print(f"publish: {time.perf_counter() - started:.2f} s, "
              + ", ".join(f"{f.format} {f.size_bytes} bytes" for f in audit.files))


if __name__ == "__main__":
    main()
