"""Pages for purchase orders and devices: ordering, receiving by file, the device list and its history."""
import io
import re

from insurer_dms.extensions import db
from insurer_dms.inventory.models import Device, PurchaseOrder
from tests.factories import bad_imei, imei, make_devices, make_entry, make_po, receipt_csv


def text_of(resp):
    return resp.get_data(as_text=True)


def test_purchase_order_list_searches_and_pages(ops, ctx):
    entry = make_entry()
    make_po([entry], number="PO-RAOPING-1")
    make_po([entry], number="PO-XIANGQIAO-1")
    html = text_of(ops.get("/purchase-orders?q=raoping"))
    assert "PO-RAOPING-1" in html and "PO-XIANGQIAO-1" not in html
    resp = ops.get("/purchase-orders?date_from=not-a-date")
    assert resp.status_code == 200 and "Some filters were ignored" in text_of(resp)
    assert 'id="pager"' in text_of(ops.get("/purchase-orders?page_size=1"))


def test_new_purchase_order_form_creates_the_order(ops, ctx):
    entry = make_entry()
    assert entry.label in text_of(ops.get("/purchase-orders/new"))
    form = {"number": "PO-FORM-1", "supplier": "Chaozhou Anxin", "order_date": "2021-04-01",
            "line-0-entry": str(entry.id), "line-0-quantity": "8", "line-0-price": "2300.00"}
    resp = ops.post("/purchase-orders/new", data=form)
    assert resp.status_code == 302
    po = db.session.query(PurchaseOrder).filter_by(number="PO-FORM-1").one()
    assert resp.headers["Location"].endswith(f"/purchase-orders/{po.id}")
    assert [(line.line_no, line.quantity) for line in po.lines] == [(1, 8)]


def test_new_purchase_order_form_shows_the_over_price_row(ops, ctx):
    entry = make_entry()
    form = {"number": "PO-FORM-2", "supplier": "Chaozhou Anxin", "order_date": "2021-04-01",
            "line-2-entry": str(entry.id), "line-2-quantity": "8", "line-2-price": "9999.00"}
    resp = ops.post("/purchase-orders/new", data=form)
    assert resp.status_code == 422
    assert 'data-field="lines.2.unit_price"' in text_of(resp)
    assert "above the bid unit price" in text_of(resp)
    assert db.session.query(PurchaseOrder).count() == 0


def test_receiving_by_file_on_the_order_page(ops, ctx):
    po = make_po(quantity=3)
    good = receipt_csv([[1, "SN1", "T1", imei(1)], [1, "SN2", "T2", imei(2)]])
    resp = ops.post(f"/purchase-orders/{po.id}", data={"file": (io.BytesIO(good), "r.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 200
    html = text_of(resp)
    assert 'id="import-result"' in html and "2 device(s) received." in html
    assert re.search(r'<td class="received">2</td>', html)

    bad = receipt_csv([[1, "SN3", "T3", bad_imei(3)], [1, "SN4", "T4", imei(4)], [1, "SN5", "T5", imei(5)]])
    resp = ops.post(f"/purchase-orders/{po.id}", data={"file": (io.BytesIO(bad), "r.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 422
    html = text_of(resp)
    assert 'id="import-errors"' in html and "<td>2</td><td>imei</td>" in html and "<td>4</td><td>line_no</td>" in html
    db.session.expire_all()
    assert db.session.query(Device).count() == 2


def test_device_list_and_detail_pages(ops, ctx):
    po = make_po(quantity=5)
    faulty, fine = make_devices(po, 1, status="faulty")[0], make_devices(po, 1, start=2)[0]
    html = text_of(ops.get("/devices?status=faulty"))
    assert faulty.serial in html and fine.serial not in html
    assert fine.serial in text_of(ops.get("/devices?q=T0000002"))
    html = text_of(ops.get(f"/devices/{faulty.id}"))
    options = re.findall(r'<option value="(\w+)">', html.split('id="transition-to"')[1].split("</select>")[0])
    assert options == ["in_repair", "retired"]
    assert 'id="device-history"' in html and "Received on purchase order PO-2021-001" in html


def test_transition_form_moves_the_device_or_explains_why_not(ops, ctx):
    po = make_po(quantity=5)
    device = make_devices(po, 1)[0]
    resp = ops.post(f"/devices/{device.id}/transition", data={"to": "faulty", "note": "camera dead"}, follow_redirects=True)
    assert "is now Faulty" in text_of(resp) and "camera dead" in text_of(resp)
    resp = ops.post(f"/devices/{device.id}/transition", data={"to": "installed"}, follow_redirects=True)
    assert "cannot go from faulty to installed" in text_of(resp)


def test_installed_device_page_offers_no_manual_moves(ops, ctx):
    po = make_po(quantity=5)
    device = make_devices(po, 1, status="installed")[0]
    html = text_of(ops.get(f"/devices/{device.id}"))
    assert 'id="transition-form"' not in html and "installation work order" in html


def test_ops_receives_devices_by_csv_upload_in_the_browser(app, login_as, live_server):
    page = login_as("ops")
    with app.app_context():
        po = make_po(quantity=10, number="PO-BROWSER-1")
        po_id = db.session.get(PurchaseOrder, po.id).id
    page.goto(live_server.url("/purchase-orders"))
    page.click("text=PO-BROWSER-1")
    page.wait_for_url(f"**/purchase-orders/{po_id}")
    data = receipt_csv([[1, f"CZ-{n:04d}", f"TERM{n:04d}", imei(n)] for n in range(1, 4)])
    page.set_input_files("#receive-file", files=[{"name": "receipt.csv", "mimeType": "text/csv", "buffer": data}])
    page.click("#receive-submit")
    assert "3 device(s) received." in page.locator("#import-result").inner_text()
    assert page.locator("#line-1 .received").inner_text() == "3"
    page.click("#po-devices")
    rows = page.locator("#devices tbody tr")
    assert rows.count() == 3
    assert "CZ-0001" in page.locator("#devices").inner_text()
    page.click("text=CZ-0002")
    assert page.locator("#device-status").inner_text() == "In stock"
