"""Importing the approved catalogue from CSV and XLSX files: all or nothing, idempotent."""
from tests.factories import HEADERS_EN, HEADERS_ZH, catalogue_rows, csv_bytes, entry_payload, upload_catalogue, xlsx_bytes


def total(ops):
    return ops.get("/api/catalogue").json["total"]


def test_csv_with_english_headers_is_imported(ops):
    resp = upload_catalogue(ops, csv_bytes(HEADERS_EN, catalogue_rows(12)), "catalogue.csv")
    assert resp.status_code == 201, resp.json
    assert resp.json == {"created": 12, "unchanged": 0}
    entry = ops.get("/api/catalogue?q=M-0001").json["items"][0]
    assert entry["bid_unit_price"] == "1801.50"
    assert (entry["adas"], entry["dsm"], entry["bsd"], entry["jtt808"], entry["jtt1078"], entry["gd_active_safety"]) == (
        True, True, False, True, True, True)
    assert entry["device_type"] == "split"
    history = ops.get(f"/api/catalogue/{entry['id']}/history").json
    assert [h["action"] for h in history] == ["import"]
    assert history[0]["note"] == "catalogue.csv, row 3"


def test_xlsx_with_chinese_headers_and_typed_cells_is_imported(ops):
    import datetime as dt

    rows = [
        ["粤交2021-01", "包1", "锐明技术", "C6D-AI", "一体机", "是", "是", "否", 4, "✓", "✓", "Y", 2380, dt.date(2021, 3, 1), dt.date(2022, 12, 31)],
        ["粤交2021-01", "包2", "鸿泉物联", "HQ-ADAS-2", "分体机", "1", "0", "1", 6, "是", "否", "N", "￥1,980.50", "2021/3/1", None],
    ]
    resp = upload_catalogue(ops, xlsx_bytes(HEADERS_ZH, rows), "目录.xlsx")
    assert resp.status_code == 201, resp.json
    assert resp.json == {"created": 2, "unchanged": 0}
    items = {e["model_code"]: e for e in ops.get("/api/catalogue").json["items"]}
    assert items["C6D-AI"]["bid_unit_price"] == "2380.00"
    assert items["C6D-AI"]["device_type"] == "all_in_one"
    assert items["C6D-AI"]["valid_to"] == "2022-12-31"
    assert items["HQ-ADAS-2"]["bid_unit_price"] == "1980.50"
    assert (items["HQ-ADAS-2"]["adas"], items["HQ-ADAS-2"]["dsm"], items["HQ-ADAS-2"]["bsd"]) == (True, False, True)
    assert items["HQ-ADAS-2"]["valid_to"] is None
    assert items["HQ-ADAS-2"]["manufacturer"] == "鸿泉物联"


def test_gb18030_csv_with_chinese_headers(ops):
    data = csv_bytes(HEADERS_ZH, catalogue_rows(3)).decode("utf-8").encode("gb18030")
    resp = upload_catalogue(ops, data, "catalogue-gbk.csv")
    assert resp.status_code == 201, resp.json
    assert resp.json["created"] == 3


def test_two_hundred_rows_with_three_bad_store_nothing_and_name_each(ops):
    rows = catalogue_rows(200)
    rows[9][12] = "12.345"  # row 11: price with fen fractions
    rows[99][13] = "2021-13-01"  # row 101: no such month
    rows[149][4] = "dashcam"  # row 151: unknown device type
    resp = upload_catalogue(ops, csv_bytes(HEADERS_EN, rows), "catalogue.csv")
    assert resp.status_code == 422
    assert [(r["row"], r["column"]) for r in resp.json["rows"]] == [
        (11, "bid_unit_price"), (101, "valid_from"), (151, "device_type")]
    assert all(r["message"] for r in resp.json["rows"])
    assert total(ops) == 0


def test_reimporting_the_same_file_changes_nothing(ops, ctx):
    from sqlalchemy import func, select

    from insurer_dms.activity import Activity
    from insurer_dms.extensions import db

    data = xlsx_bytes(HEADERS_EN, catalogue_rows(20))
    assert upload_catalogue(ops, data, "catalogue.xlsx").json == {"created": 20, "unchanged": 0}
    before = db.session.scalar(select(func.count()).select_from(Activity).where(Activity.entity_type == "catalogue_entry"))
    again = upload_catalogue(ops, data, "catalogue.xlsx")
    assert again.status_code == 201
    assert again.json == {"created": 0, "unchanged": 20}
    assert total(ops) == 20
    after = db.session.scalar(select(func.count()).select_from(Activity).where(Activity.entity_type == "catalogue_entry"))
    assert after == before


def test_a_file_adding_to_the_catalogue_keeps_known_rows(ops):
    rows = catalogue_rows(5)
    upload_catalogue(ops, csv_bytes(HEADERS_EN, rows[:3]), "first.csv")
    assert upload_catalogue(ops, csv_bytes(HEADERS_EN, rows), "second.csv").json == {"created": 2, "unchanged": 3}


def test_row_already_in_catalogue_with_other_values_is_refused(ops):
    ops.post("/api/catalogue", json=entry_payload(tender_batch="GD-2021-01", lot="2", model_code="M-0001"))
    rows = catalogue_rows(4)
    resp = upload_catalogue(ops, csv_bytes(HEADERS_EN, rows), "catalogue.csv")
    assert resp.status_code == 422
    assert [(r["row"], r["column"]) for r in resp.json["rows"]] == [(3, "model_code")]
    assert "edit the entry instead" in resp.json["rows"][0]["message"]
    assert total(ops) == 1


def test_duplicate_key_within_the_file_is_an_error_on_the_later_row(ops):
    rows = catalogue_rows(6)
    rows[4] = list(rows[1])
    rows[4][2] = "Someone else"
    resp = upload_catalogue(ops, csv_bytes(HEADERS_EN, rows), "catalogue.csv")
    assert resp.status_code == 422
    assert [(r["row"], r["column"]) for r in resp.json["rows"]] == [(6, "model_code")]
    assert "row 3" in resp.json["rows"][0]["message"]
    assert total(ops) == 0


def test_validity_ending_before_start_in_a_file_names_the_column(ops):
    rows = catalogue_rows(2)
    rows[1][14] = "2020-01-01"
    resp = upload_catalogue(ops, csv_bytes(HEADERS_ZH, rows), "catalogue.csv")
    assert resp.status_code == 422
    assert [(r["row"], r["column"]) for r in resp.json["rows"]] == [(3, "有效期止")]


def test_bad_yes_no_cell_is_a_row_error(ops):
    rows = catalogue_rows(2)
    rows[0][5] = "maybe"
    resp = upload_catalogue(ops, csv_bytes(HEADERS_EN, rows), "catalogue.csv")
    assert [(r["row"], r["column"]) for r in resp.json["rows"]] == [(2, "adas")]


def test_missing_required_column_is_reported(ops):
    headers = [h for h in HEADERS_EN if h != "bid_unit_price"]
    rows = [r[:12] + r[13:] for r in catalogue_rows(2)]
    resp = upload_catalogue(ops, csv_bytes(headers, rows), "catalogue.csv")
    assert resp.status_code == 422
    assert resp.json["rows"] == [{"row": 1, "column": "bid_unit_price", "message": "Missing column 'bid_unit_price'."}]


def test_wrong_file_type_or_no_file_is_422_on_file(ops):
    resp = upload_catalogue(ops, b"hello", "catalogue.pdf")
    assert resp.status_code == 422
    assert "file" in resp.json["errors"]
    resp = ops.post("/api/catalogue/import", data={}, content_type="multipart/form-data")
    assert resp.status_code == 422
    assert "file" in resp.json["errors"]
    resp = upload_catalogue(ops, b"not a zip", "catalogue.xlsx")
    assert resp.status_code == 422
    assert "file" in resp.json["errors"]


def test_import_is_recorded_in_activity(ops, ctx):
    from insurer_dms.activity import history

    upload_catalogue(ops, csv_bytes(HEADERS_EN, catalogue_rows(2)), "catalogue.csv")
    upload_catalogue(ops, csv_bytes(HEADERS_EN, catalogue_rows(2)), "catalogue.csv")
    entries = history("catalogue_import", "catalogue.csv")
    assert [e.after for e in entries] == [{"created": 2, "unchanged": 0}, {"created": 0, "unchanged": 2}]
    assert entries[0].actor == "ops@example.com"
