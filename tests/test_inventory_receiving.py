"""Receiving devices against purchase order lines, by request and by file: never more than ordered."""
import pytest

from insurer_dms.activity import history
from insurer_dms.extensions import db
from insurer_dms.inventory.models import Device, DeviceEvent
from tests.factories import (
    bad_imei,
    device_item,
    imei,
    make_devices,
    make_entry,
    make_po,
    receipt_csv,
    receipt_xlsx,
    upload,
)


def receipt_url(po):
    return f"/api/purchase-orders/{po.id}/receipts"


def import_url(po):
    return f"/api/purchase-orders/{po.id}/receipts/import"


def device_count():
    db.session.expire_all()
    return db.session.query(Device).count()


def test_ops_receives_devices_in_stock_with_history_and_activity(ops, ctx):
    po = make_po(quantity=5)
    line = po.lines[0]
    resp = ops.post(receipt_url(po), json={"line_id": line.id, "received_on": "2021-04-20", "devices": [device_item(1), device_item(2)]})
    assert resp.status_code == 201, resp.json
    assert resp.json["received"] == 2 and resp.json["by_line"] == {"1": 2}
    device = ops.get(f"/api/devices/{resp.json['device_ids'][0]}").json
    assert (device["serial"], device["status"], device["received_on"], device["purchase_order_number"], device["line_no"]) == (
        "SN000001", "in_stock", "2021-04-20", "PO-2021-001", 1,
    )
    assert [(e["from_status"], e["to_status"], e["actor"]) for e in device["events"]] == [(None, "in_stock", "ops@example.com")]
    assert [a.action for a in history("device", device["id"])] == ["receive"]
    assert "receive" in [a.action for a in history("purchase_order", po.id)]
    assert ops.get(f"/api/purchase-orders/{po.id}").json["lines"][0]["received"] == 2


def test_imei_is_optional_and_terminal_id_is_upper_cased(ops, ctx):
    po = make_po(quantity=1)
    resp = ops.post(receipt_url(po), json={"line_id": po.lines[0].id, "devices": [{"serial": " SN-9 ", "terminal_id": "ab12cd3", "imei": ""}]})
    assert resp.status_code == 201, resp.json
    device = db.session.get(Device, resp.json["device_ids"][0])
    assert (device.serial, device.terminal_id, device.imei) == ("SN-9", "AB12CD3", None)


def test_over_receipt_is_refused_naming_the_numbers_and_nothing_is_stored(ops, ctx):
    po = make_po(quantity=3)
    make_devices(po, 2)
    resp = ops.post(receipt_url(po), json={"line_id": po.lines[0].id, "devices": [device_item(10), device_item(11)]})
    assert resp.status_code == 422
    message = resp.json["errors"]["devices"][0]
    assert "ordered 3" in message and "2 already received" in message and "this receipt 2" in message and "at most 1 more" in message
    assert device_count() == 2


def test_duplicate_serial_within_a_receipt_is_refused(ops, ctx):
    po = make_po(quantity=5)
    twin = {**device_item(2), "serial": "SN000001"}
    resp = ops.post(receipt_url(po), json={"line_id": po.lines[0].id, "devices": [device_item(1), twin]})
    assert resp.status_code == 422
    assert "SN000001" in resp.json["errors"]["devices.1.serial"][0]
    assert device_count() == 0


def test_serial_already_registered_is_a_conflict_naming_the_serial(ops, ctx):
    po = make_po(quantity=5)
    make_devices(po, 1)
    again = {**device_item(7), "serial": "SN000001"}
    resp = ops.post(receipt_url(po), json={"line_id": po.lines[0].id, "devices": [device_item(8), again]})
    assert resp.status_code == 409
    assert resp.json["errors"] == {"devices.1.serial": ["Serial SN000001 is already registered."]}
    assert device_count() == 1


def test_bad_imei_and_terminal_id_are_refused_by_field(ops, ctx):
    po = make_po(quantity=5)
    devices = [
        {**device_item(1), "imei": bad_imei(1)},
        {**device_item(2), "imei": "12345"},
        {**device_item(3), "terminal_id": "T-1"},
        {**device_item(4), "terminal_id": "X" * 31},
    ]
    resp = ops.post(receipt_url(po), json={"line_id": po.lines[0].id, "devices": devices})
    assert resp.status_code == 422
    errors = resp.json["errors"]
    assert "check digit" in errors["devices.0.imei"][0]
    assert "15 digits" in errors["devices.1.imei"][0]
    assert {"devices.2.terminal_id", "devices.3.terminal_id"} <= set(errors)
    assert device_count() == 0


def test_line_of_another_purchase_order_is_refused(ops, ctx):
    po = make_po(quantity=5)
    other = make_po(quantity=5, number="PO-OTHER")
    resp = ops.post(receipt_url(po), json={"line_id": other.lines[0].id, "devices": [device_item(1)]})
    assert resp.status_code == 422
    assert "line_id" in resp.json["errors"]
    assert ops.post("/api/purchase-orders/999999/receipts", json={"line_id": 1, "devices": [device_item(1)]}).status_code == 404


# ---- receiving by file -------------------------------------------------------------------------------


def rows_for(line_no, numbers):
    return [[line_no, f"SN{n:06d}", f"T{n:07d}", imei(n)] for n in numbers]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_file_receipt_registers_every_row(ops, ctx, kind):
    po = make_po([make_entry(), make_entry()], quantity=30)
    rows = rows_for(1, range(1, 26)) + rows_for(2, range(26, 41))
    data = receipt_csv(rows) if kind == "csv" else receipt_xlsx(rows)
    resp = upload(ops, import_url(po), data, f"receipt.{kind}")
    assert resp.status_code == 201, resp.json
    assert resp.json["received"] == 40 and resp.json["by_line"] == {"1": 25, "2": 15}
    lines = ops.get(f"/api/purchase-orders/{po.id}").json["lines"]
    assert [line["received"] for line in lines] == [25, 15]
    assert db.session.query(DeviceEvent).count() == 40


def test_file_receipt_accepts_chinese_headers(ops, ctx):
    po = make_po(quantity=5)
    data = receipt_csv(rows_for(1, [1, 2]), headers=("行号", "设备序列号", "终端编号", "IMEI")).decode().encode("gb18030")
    resp = upload(ops, import_url(po), data, "到货.csv")
    assert resp.status_code == 201, resp.json
    assert resp.json["received"] == 2


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_file_with_a_few_bad_rows_among_many_stores_nothing_and_lists_each(ops, ctx, kind):
    po = make_po([make_entry(), make_entry()], quantity=60)
    make_devices(po, 1, line_no=1, start=500)  # SN000500 is already registered
    rows = rows_for(1, range(1, 51)) + rows_for(2, range(51, 101))
    rows[4][3] = bad_imei(5)  # row 6: IMEI check digit
    rows[9][1] = "SN000003"  # row 11: same serial as row 4
    rows[19][0] = 7  # row 21: no line 7
    rows[29][1] = "SN000500"  # row 31: already registered
    rows[59][2] = "T-BAD"  # row 61: terminal ID format
    rows[79][0] = "two"  # row 81: line_no not a number
    data = receipt_csv(rows) if kind == "csv" else receipt_xlsx(rows)
    resp = upload(ops, import_url(po), data, f"receipt.{kind}")
    assert resp.status_code == 422
    reported = {(r["row"], r["column"]) for r in resp.json["rows"]}
    assert {r["row"] for r in resp.json["rows"]} == {6, 11, 21, 31, 61, 81}
    assert {(6, "imei"), (11, "serial"), (21, "line_no"), (31, "serial"), (61, "terminal_id"), (81, "line_no")} <= reported
    assert device_count() == 1


def test_file_over_receipt_reports_the_rows_beyond_the_ordered_quantity(ops, ctx):
    po = make_po([make_entry(), make_entry()], quantity=4)
    make_devices(po, 1, line_no=1, start=900)
    rows = rows_for(1, range(1, 6)) + rows_for(2, range(6, 9))  # line 1: 1 received + 5 in file > 4
    resp = upload(ops, import_url(po), receipt_csv(rows), "receipt.csv")
    assert resp.status_code == 422
    over = [r for r in resp.json["rows"] if r["column"] == "line_no"]
    assert [r["row"] for r in over] == [5, 6]
    assert "ordered 4, 1 already received, this receipt 5" in over[0]["message"]
    assert device_count() == 1


def test_file_without_required_columns_or_of_another_type_is_refused(ops, ctx):
    po = make_po(quantity=5)
    resp = upload(ops, import_url(po), receipt_csv([[1, "SN1"]], headers=("line_no", "serial")), "receipt.csv")
    assert resp.status_code == 422
    assert resp.json["rows"] == [{"row": 1, "column": "terminal_id", "message": "Missing column 'terminal_id'."}]
    resp = upload(ops, import_url(po), b"line_no,serial\n", "receipt.txt")
    assert resp.status_code == 422 and "file" in resp.json["errors"]
    resp = ops.post(import_url(po), data={}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "file" in resp.json["errors"]
