"""Importing the policy-system export: CSV and XLSX, all or nothing, idempotent, fast enough."""
import io

from sqlalchemy import func, select

from insurer_dms.activity import Activity
from insurer_dms.extensions import db
from insurer_dms.fleet.models import Operator, Policy, Truck
from insurer_dms.fleet.samples import HEADERS, ExportBuilder, to_csv, to_xlsx


def upload(client, data, filename="保单导出.csv"):
    return client.post("/api/policies/import", data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


FLEET = ["operator", "truck", "policy"]


def stored(app):
    """Row counts of the fleet tables and of the fleet's activity entries."""
    with app.app_context():
        counts = {m.__tablename__: db.session.scalar(select(func.count()).select_from(m)) for m in (Operator, Truck, Policy)}
        counts["activity"] = db.session.scalar(select(func.count()).where(Activity.entity_type.in_(FLEET)))
        return counts


def small_export():
    builder = ExportBuilder(seed=1)
    operator = builder.operator("445103")
    tractor = builder.truck(operator, "重型半挂牵引车")
    light = builder.truck(operator, "中型普通货车")
    return [builder.policy(tractor, "商业险"), builder.policy(tractor, "交强险"), builder.policy(light, "交强险")]


def test_csv_with_chinese_headers_creates_operators_trucks_and_policies(app, ops):
    rows = small_export()
    resp = upload(ops, to_csv(rows))
    assert resp.status_code == 200, resp.json
    assert resp.json == {
        "rows": 3,
        "operators": {"created": 1, "updated": 0, "unchanged": 0},
        "trucks": {"created": 2, "updated": 0, "unchanged": 0},
        "policies": {"created": 3, "updated": 0, "unchanged": 0},
    }
    trucks = ops.get("/api/trucks").json["items"]
    by_plate = {t["plate"]: t for t in trucks}
    tractor = by_plate[rows[0]["车牌号码"]]
    assert tractor["is_heavy"] is True and tractor["plate_colour"] == 2 and tractor["vehicle_type"] == "semi_trailer_tractor"
    assert by_plate[rows[2]["车牌号码"]]["vehicle_type"] == "goods_vehicle"
    policies = ops.get(f"/api/policies?truck_id={tractor['id']}").json["items"]
    commercial = next(p for p in policies if p["kind"] == "commercial")
    assert commercial["premium"] == rows[0]["保费"] and commercial["sum_insured_driver_passenger"] == "50000.00"
    compulsory = next(p for p in policies if p["kind"] == "compulsory")
    assert compulsory["autonomous_coefficient"] == "1.0000"  # compulsory cover has no autonomous pricing
    with app.app_context():
        notes = set(db.session.scalars(select(Activity.note).where(Activity.entity_type.in_(FLEET))))
        assert notes == {"import 保单导出.csv"}
        assert db.session.scalar(select(func.count()).where(Activity.entity_type.in_(FLEET))) == 6


def test_xlsx_with_typed_cells_imports_the_same(app, ops):
    rows = small_export()
    resp = upload(ops, to_xlsx(rows), "export.xlsx")
    assert resp.status_code == 200, resp.json
    assert resp.json["policies"]["created"] == 3
    policy = ops.get(f"/api/policies?q={rows[0]['保单号']}").json["items"][0]
    assert policy["start_date"] == rows[0]["起保日期"] and policy["end_date"] == rows[0]["终保日期"]


def test_gb18030_csv_with_english_headers_and_english_kinds(ops):
    rows = small_export()
    english = ["operator name", "credit code", "phone", "plate number", "plate colour", "VIN", "vehicle type", "total mass (kg)",
               "county code", "policy number", "kind", "start date", "end date", "premium", "benchmark premium", "NCD coefficient",
               "autonomous coefficient", "violation coefficient", "vehicle damage sum insured", "third party sum insured",
               "driver passenger sum insured"]
    lines = [",".join(english)]
    for row in rows:
        values = [row[h] for h in HEADERS]
        values[10] = "commercial" if values[10] == "商业险" else "compulsory"
        values[4] = "2"
        values[11] = values[11].replace("-", "/")
        lines.append(",".join(values))
    resp = upload(ops, "\r\n".join(lines).encode("gb18030"))
    assert resp.status_code == 200, resp.json
    assert resp.json["policies"]["created"] == 3


def test_reimporting_the_same_file_changes_nothing(app, ops):
    data = to_csv(ExportBuilder(seed=3).rows(60))
    first = upload(ops, data).json
    before = stored(app)
    second = upload(ops, data)
    assert second.status_code == 200
    for kind in ("operators", "trucks", "policies"):
        assert second.json[kind] == {"created": 0, "updated": 0, "unchanged": first[kind]["created"]}
    assert stored(app) == before  # no new rows anywhere, no new activity


def test_a_changed_row_updates_and_records_before_and_after(app, ops):
    rows = small_export()
    upload(ops, to_csv(rows))
    original = rows[0]
    rows[0] = {**rows[0], "保费": "9999.99", "自主定价系数": "1.1500"}
    rows[2] = {**rows[2], "总质量(kg)": "12000"}  # re-weighed: now a heavy truck
    resp = upload(ops, to_csv(rows))
    assert resp.json["policies"] == {"created": 0, "updated": 1, "unchanged": 2}
    assert resp.json["trucks"] == {"created": 0, "updated": 1, "unchanged": 1}
    assert resp.json["operators"] == {"created": 0, "updated": 0, "unchanged": 1}
    with app.app_context():
        update = db.session.scalars(select(Activity).where(Activity.entity_type == "policy", Activity.action == "update")).one()
        assert update.after == {"premium": "9999.99", "autonomous_coefficient": "1.1500"}
        assert update.before == {"premium": original["保费"], "autonomous_coefficient": original["自主定价系数"]}
        truck = db.session.scalars(select(Truck).where(Truck.plate == rows[2]["车牌号码"])).one()
        assert truck.total_mass_kg == 12000 and truck.is_heavy


def test_500_row_file_with_bad_rows_stores_nothing_and_lists_exactly_those_rows(app, ops):
    rows = ExportBuilder(seed=5).rows(500)
    bad = {}

    def spoil(index, column, value):
        rows[index] = {**rows[index], column: value}
        bad[index + 2] = column  # header is row 1

    spoil(5, "车牌号码", "粤U12O45")
    vin = rows[56]["车架号"]
    spoil(56, "车架号", vin[:8] + ("0" if vin[8] != "0" else "1") + vin[9:])
    code = rows[118]["统一社会信用代码"]
    spoil(118, "统一社会信用代码", code[:17] + ("0" if code[17] != "0" else "1"))
    spoil(199, "终保日期", "2023-12-31")  # before the start
    spoil(300, "保费", "九千")
    spoil(350, "车牌颜色", "绿色")
    spoil(401, "保单号", rows[400]["保单号"])  # same number as row 402 with different content
    spoil(450, "总质量(kg)", "-5")
    resp = upload(ops, to_csv(rows))
    assert resp.status_code == 422
    reported = {r["row"] for r in resp.json["rows"]}
    assert reported == set(bad)
    by_row = {r["row"]: r for r in resp.json["rows"]}
    assert by_row[58]["column"] == "车架号" and "check digit" in by_row[58]["message"]
    assert by_row[403]["column"] == "保单号" and "row 402" in by_row[403]["message"]
    assert stored(app) == {"operator": 0, "truck": 0, "policy": 0, "activity": 0}


def test_a_plate_registered_to_another_vin_is_refused(app, ops):
    upload(ops, to_csv(small_export()))
    existing_plate = ops.get("/api/trucks").json["items"][0]["plate"]
    builder = ExportBuilder(seed=9, serial=1000)
    truck = builder.truck(builder.operator())
    rows = [builder.policy({**truck, "车牌号码": existing_plate})]
    before = stored(app)
    resp = upload(ops, to_csv(rows))
    assert resp.status_code == 422
    assert resp.json["rows"] == [{"row": 2, "column": "车牌号码", "message": f"Plate {existing_plate} is registered to another truck (VIN "
                                  + ops.get(f"/api/trucks?q={existing_plate}").json["items"][0]["vin"] + ")."}]
    assert stored(app) == before


def test_a_policy_number_of_another_truck_is_refused(app, ops):
    rows = small_export()
    upload(ops, to_csv(rows))
    builder = ExportBuilder(seed=11, serial=1000)
    row = builder.policy(builder.truck(builder.operator()))
    resp = upload(ops, to_csv([{**row, "保单号": rows[0]["保单号"]}]))
    assert resp.status_code == 422
    assert resp.json["rows"][0]["column"] == "保单号" and "belongs to truck" in resp.json["rows"][0]["message"]


def test_conflicting_truck_details_within_a_file_are_refused(ops):
    rows = small_export()
    rows[1] = {**rows[1], "总质量(kg)": "19999"}  # the same VIN as row 2 with another mass
    resp = upload(ops, to_csv(rows))
    assert resp.status_code == 422
    assert resp.json["rows"] == [{"row": 3, "column": "车架号", "message": f"VIN {rows[0]['车架号']} is also on row 2 with a different total_mass_kg."}]


def test_a_missing_column_is_reported_on_the_header_row(ops):
    headers = [h for h in HEADERS if h != "车架号"]
    resp = upload(ops, to_csv(small_export(), headers))
    assert resp.status_code == 422
    assert resp.json["rows"] == [{"row": 1, "column": "vin", "message": "Missing column 'vin'."}]


def test_other_file_types_are_refused(ops):
    resp = upload(ops, b"%PDF-1.4", "export.pdf")
    assert resp.status_code == 422 and "file" in resp.json["errors"]
    resp = ops.post("/api/policies/import", data={}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "file" in resp.json["errors"]
