"""The progress report equals direct SQL counts over a fleet of a few hundred trucks in every county."""
import csv
import datetime as dt
import io
import random
from decimal import Decimal

import pytest
from sqlalchemy import event, text

from insurer_dms.auth.models import ContractorCompany
from insurer_dms.extensions import db
from insurer_dms.fleet.identifiers import make_credit_code, make_vin
from insurer_dms.fleet.models import Operator, Policy, Truck
from insurer_dms.installs import progress
from insurer_dms.installs.models import ACTIVE_STATES, Installation, WorkOrder
from insurer_dms.inventory.models import Device
from tests.factories import make_entry, make_po

DAY = dt.date(2021, 6, 1)
UTC = dt.timezone.utc
COUNTIES = ("445100", "445102", "445103", "445122", "445121")  # 445121: an old code, reported on its own row
VEHICLES = [("semi_trailer_tractor", 25_000), ("goods_vehicle", 18_000), ("goods_vehicle", 12_000),
            ("goods_vehicle", 11_999), ("trailer", 30_000), ("special_purpose", 16_000)]
COVER = ["in_force", "in_force", "in_force", "two_in_force", "expired", "future", "none"]
WORK = ["none", "none", "open", "assigned", "scheduled", "rework", "cancelled", "installed", "installed",
        "connected", "seen", "removed", "installed_with_swap_open"]

HEAVY_SQL = "(t.vehicle_type = 'semi_trailer_tractor' OR (t.vehicle_type = 'goods_vehicle' AND t.total_mass_kg >= 12000))"
IN_FORCE_SQL = "EXISTS (SELECT 1 FROM policy p WHERE p.truck_id = t.id AND p.start_date <= :day AND p.end_date >= :day)"
EXTRA_SQL = {
    "insured": "",
    "orders_open": "AND EXISTS (SELECT 1 FROM work_order w WHERE w.truck_id = t.id AND w.state IN ({}))".format(
        ", ".join(f"'{s}'" for s in ACTIVE_STATES)),
    "installed": "AND EXISTS (SELECT 1 FROM installation i WHERE i.truck_id = t.id AND i.removed_at IS NULL)",
    "connected": "AND EXISTS (SELECT 1 FROM installation i JOIN work_order w ON w.id = i.work_order_id WHERE i.truck_id = t.id"
                 " AND i.removed_at IS NULL AND (i.first_seen_at IS NOT NULL OR w.connected_at IS NOT NULL))",
}


def direct_counts(day):
    """{county: {measure: n}} by plain SQL, one query per measure."""
    counts = {}
    for measure, extra in EXTRA_SQL.items():
        sql = f"SELECT t.county_code, count(*) FROM truck t WHERE {HEAVY_SQL} AND {IN_FORCE_SQL} {extra} GROUP BY t.county_code"
        for county, n in db.session.execute(text(sql), {"day": day}):
            counts.setdefault(county, dict.fromkeys(EXTRA_SQL, 0))[measure] = n
    return counts


def _plate(i):
    chars = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    body = ""
    for _ in range(5):
        i, r = divmod(i, len(chars))
        body = chars[r] + body
    return "粤U" + body


def build_fleet(count, seed=7):
    """``count`` trucks spread over the counties, in every cover and work situation, stored in bulk."""
    rng = random.Random(seed)
    company = ContractorCompany(name=f"Progress Installations {seed}")
    operators = {c: Operator(name=f"Operator {c}", credit_code=make_credit_code(rng, division=c), county_code=c) for c in COUNTIES}
    db.session.add_all([company, *operators.values()])
    po = make_po([make_entry()], quantity=count, number=f"PO-PROGRESS-{seed}-{count}")
    line = po.lines[0]
    trucks, vins = [], set()
    for i in range(count):
        vehicle_type, mass = rng.choice(VEHICLES)
        vin = make_vin(rng)
        while vin in vins:
            vin = make_vin(rng)
        vins.add(vin)
        county = COUNTIES[i % len(COUNTIES)] if i % 23 else "445121"
        trucks.append(Truck(plate=_plate(seed * 100_000 + i), plate_colour=2, vin=vin, vehicle_type=vehicle_type, total_mass_kg=mass,
                            county_code=county, operator=operators[county]))
    db.session.add_all(trucks)
    db.session.flush()
    rows = []
    for i, truck in enumerate(trucks):
        cover = rng.choice(COVER)
        periods = {"in_force": [(DAY - dt.timedelta(days=100), DAY + dt.timedelta(days=265))],
                   "two_in_force": [(DAY - dt.timedelta(days=10), DAY + dt.timedelta(days=355)), (DAY, DAY + dt.timedelta(days=1))],
                   "expired": [(DAY - dt.timedelta(days=400), DAY - dt.timedelta(days=1))],
                   "future": [(DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=366))],
                   "none": []}[cover]
        for n, (start, end) in enumerate(periods):
            rows.append(Policy(number=f"P-{seed}-{i}-{n}", truck_id=truck.id, kind="commercial" if n == 0 else "compulsory",
                               start_date=start, end_date=end, premium=Decimal("9000.00"), benchmark_premium=Decimal("10000.00"),
                               ncd_coefficient=Decimal("0.9000"), autonomous_coefficient=Decimal("1.0000")))
        work = rng.choice(WORK)
        installed_at = dt.datetime(2021, 4, 1, tzinfo=UTC) + dt.timedelta(hours=i)
        if work in ACTIVE_STATES or work == "cancelled":
            rows.append(WorkOrder(number=f"WO-P-{seed}-{i}", state=work, truck_id=truck.id, company=company))
        elif work != "none":
            state = {"connected": "connected", "removed": "completed"}.get(work, "installed")
            order = WorkOrder(number=f"WO-P-{seed}-{i}", state=state, truck_id=truck.id, company=company, installed_at=installed_at,
                              connected_at=installed_at + dt.timedelta(days=1) if work == "connected" else None)
            device = Device(serial=f"SN-P-{seed}-{i}", terminal_id=f"TP{seed}{i:06d}", catalogue_entry_id=line.catalogue_entry_id,
                            po_line_id=line.id, status="in_stock" if work == "removed" else "installed", received_on=DAY)
            db.session.add_all([order, device])
            db.session.flush()
            rows.append(Installation(device_id=device.id, truck_id=truck.id, work_order_id=order.id, installed_at=installed_at,
                                     removed_at=installed_at + dt.timedelta(days=20) if work == "removed" else None,
                                     first_seen_at=installed_at + dt.timedelta(hours=3) if work == "seen" else None))
            if work == "installed_with_swap_open":
                rows.append(WorkOrder(number=f"WO-P-{seed}-{i}-swap", kind="swap", state="assigned", truck_id=truck.id, company=company))
    db.session.add_all(rows)
    db.session.commit()


def test_progress_equals_direct_sql_counts_over_a_few_hundred_trucks(ctx):
    build_fleet(360)
    report = progress.progress(DAY)
    expected = direct_counts(DAY)
    assert set(expected) == set(COUNTIES)  # every county has insured heavy trucks in this fleet
    by_code = {row["county_code"]: row for row in report["counties"]}
    assert list(by_code)[:4] == ["445100", "445102", "445103", "445122"] and "445121" in by_code
    for county, counts in expected.items():
        assert {k: by_code[county][k] for k in counts} == counts, county
    total = report["total"]
    for measure in EXTRA_SQL:
        assert total[measure] == sum(c[measure] for c in expected.values())
    assert 0 < total["connected"] < total["installed"] < total["insured"]
    assert total["orders_open"] > 0
    assert total["installed_pct"] == (Decimal(total["installed"]) * 100 / total["insured"]).quantize(Decimal("0.1"))
    # 2021-06-01 is before the programme deadline (2021-06-30): nothing is due yet, so nothing is overdue
    assert "days_left" not in report and report["deadline"] == dt.date(2021, 6, 30)
    assert total["due"] == total["overdue"] == total["oldest_overdue_days"] == 0
    late = dt.date(2021, 9, 1)
    expected = direct_due(late)
    report = progress.progress(late)
    for row in report["counties"]:
        assert (row["due"], row["overdue"], row["oldest_overdue_days"]) == expected.get(row["county_code"], (0, 0, 0)), row
    assert report["total"]["overdue"] == sum(v[1] for v in expected.values()) > 0
    assert sum(r["overdue"] for r in report["contractors"]) == report["total"]["overdue"]
    assert sum(r["insured"] for r in report["contractors"]) == report["total"]["insured"]


def direct_due(day, deadline=dt.date(2021, 6, 30), days=30):
    """{county: (due, overdue, oldest overdue days)} from each insured heavy truck's first policy start, by plain SQL
    and the rule as the README states it."""
    sql = (f"SELECT t.county_code, (SELECT min(p.start_date) FROM policy p WHERE p.truck_id = t.id),"
           " EXISTS (SELECT 1 FROM installation i WHERE i.truck_id = t.id AND i.removed_at IS NULL)"
           f" FROM truck t WHERE {HEAVY_SQL} AND {IN_FORCE_SQL}")
    found = {}
    for county, first, installed in db.session.execute(text(sql), {"day": day}):
        first = first if isinstance(first, dt.date) else dt.date.fromisoformat(first)
        due_on = deadline if first <= deadline else first + dt.timedelta(days=days)
        due, overdue, oldest = found.get(county, (0, 0, 0))
        late = due_on < day and not installed
        found[county] = (due + (due_on <= day), overdue + late, max(oldest, (day - due_on).days if late else 0))
    return found


def count_queries(fn):
    statements = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return len(statements)


def test_the_report_takes_the_same_few_queries_whatever_the_fleet_size(ctx):
    build_fleet(20, seed=1)
    small = count_queries(lambda: progress.progress(DAY))
    build_fleet(200, seed=2)
    large = count_queries(lambda: progress.progress(DAY))
    assert small == large <= 2


def test_percentages_have_one_place_and_an_empty_fleet_has_nothing_due(app, ctx):
    assert progress.percent(1, 3) == Decimal("33.3")
    assert progress.percent(2, 3) == Decimal("66.7")
    assert progress.percent(3, 3) == Decimal("100.0")
    assert progress.percent(0, 0) is None
    empty = progress.progress(dt.date(2021, 7, 10))
    assert empty["deadline"] == dt.date(2021, 6, 30) and empty["install_due_days"] == 30
    assert empty["total"]["overdue"] == 0 and empty["next_due"] == [] and empty["contractors"] == []
    assert [r["county_code"] for r in empty["counties"]] == ["445100", "445102", "445103", "445122"]
    assert empty["total"]["insured"] == 0 and empty["total"]["installed_pct"] is None


def test_progress_api_gives_json_and_csv(ops, ctx):
    build_fleet(60, seed=3)
    expected = direct_counts(DAY)
    resp = ops.get("/api/reports/progress?on=2021-06-01")
    assert resp.status_code == 200
    body = resp.json
    assert body["deadline"] == "2021-06-30" and body["install_due_days"] == 30 and "days_left" not in body
    row = next(r for r in body["counties"] if r["county_code"] == "445102")
    assert row["insured"] == expected["445102"]["insured"] and row["installed"] == expected["445102"]["installed"]
    assert row["installed_pct"] == str(progress.percent(row["installed"], row["insured"]))
    assert body["total"]["county"] == "Total"

    resp = ops.get("/api/reports/progress?on=2021-06-01&format=csv&lang=en")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    counties_part = resp.data.decode("utf-8-sig").split("\r\n\r\n")[0]  # the contractors follow a blank line
    rows = list(csv.DictReader(io.StringIO(counties_part)))
    assert [r["County code"] for r in rows] == ["445100", "445102", "445103", "445122", "445121", ""]
    assert rows[-1]["County"] == "Total" and int(rows[-1]["Insured heavy trucks"]) == body["total"]["insured"]
    assert rows[1]["Installed %"] == row["installed_pct"] and rows[1]["Overdue"] == "0" and rows[1]["Due"] == "0"

    assert ops.get("/api/reports/progress?on=June").status_code == 422


@pytest.mark.parametrize("role,status", [("contractor", 403), ("reviewer", 403), ("anon", 401)])
def test_progress_is_for_operations_staff(request, role, status):
    client = request.getfixturevalue(role)
    assert client.get("/api/reports/progress").status_code == status
    assert client.get("/api/reports/progress?format=csv").status_code == status
