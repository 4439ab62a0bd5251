"""Purchase orders: only orderable catalogue models, never above the bid price."""
import datetime as dt
from decimal import Decimal

from insurer_dms.activity import history
from insurer_dms.inventory.models import PurchaseOrder
from tests.factories import make_devices, make_entry, make_po, po_payload

URL = "/api/purchase-orders"


def test_ops_creates_a_purchase_order_with_numbered_lines(ops, ctx):
    a, b = make_entry(), make_entry(manufacturer="Howen", bid_unit_price=Decimal("1990.00"))
    payload = po_payload([a.id, b.id], unit_price="1990.00", note="Batch for Raoping county")
    resp = ops.post(URL, json=payload)
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["number"] == "PO-2021-001"
    assert [(line["line_no"], line["catalogue_entry_id"], line["unit_price"], line["received"]) for line in body["lines"]] == [
        (1, a.id, "1990.00", 0),
        (2, b.id, "1990.00", 0),
    ]
    assert body["quantity"] == 20 and body["received"] == 0
    entries = history("purchase_order", body["id"])
    assert [e.action for e in entries] == ["create"]
    assert entries[0].actor == "ops@example.com"
    assert len(entries[0].after["lines"]) == 2


def test_price_equal_to_the_bid_price_is_accepted(ops, ctx):
    entry = make_entry(bid_unit_price=Decimal("2380.00"))
    assert ops.post(URL, json=po_payload([entry.id], unit_price="2380.00")).status_code == 201


def test_over_price_po_line_is_refused_with_field(ops, ctx):
    cheap, dear = make_entry(bid_unit_price=Decimal("2380.00")), make_entry(bid_unit_price=Decimal("1500.00"))
    resp = ops.post(URL, json=po_payload([cheap.id, dear.id], unit_price="2000.00"))
    assert resp.status_code == 422
    assert list(resp.json["errors"]) == ["lines.1.unit_price"]
    assert "above the bid unit price 1500.00" in resp.json["errors"]["lines.1.unit_price"][0]
    assert ops.get(URL).json["total"] == 0


def test_withdrawn_entry_is_refused(ops, ctx):
    entry = make_entry(withdrawn_on=dt.date(2021, 3, 15))
    resp = ops.post(URL, json=po_payload([entry.id], order_date="2021-04-01"))
    assert resp.status_code == 422
    assert "withdrawn" in resp.json["errors"]["lines.0.catalogue_entry_id"][0]


def test_entry_withdrawn_later_than_the_order_date_is_still_orderable(ops, ctx):
    entry = make_entry(withdrawn_on=dt.date(2021, 9, 1))
    assert ops.post(URL, json=po_payload([entry.id], order_date="2021-04-01")).status_code == 201


def test_entry_outside_its_validity_on_the_order_date_is_refused(ops, ctx):
    entry = make_entry(valid_from=dt.date(2021, 3, 1), valid_to=dt.date(2022, 12, 31))
    early = ops.post(URL, json=po_payload([entry.id], order_date="2021-02-28"))
    late = ops.post(URL, json=po_payload([entry.id], order_date="2023-01-01", number="PO-2"))
    assert early.status_code == late.status_code == 422
    assert "not valid before 2021-03-01" in early.json["errors"]["lines.0.catalogue_entry_id"][0]
    assert "validity ended on 2022-12-31" in late.json["errors"]["lines.0.catalogue_entry_id"][0]


def test_every_bad_line_is_reported_at_once(ops, ctx):
    good = make_entry()
    withdrawn = make_entry(withdrawn_on=dt.date(2021, 3, 2), bid_unit_price=Decimal("1000.00"))
    payload = po_payload([good.id, withdrawn.id, 999999], unit_price="2200.00")
    resp = ops.post(URL, json=payload)
    assert resp.status_code == 422
    assert set(resp.json["errors"]) == {"lines.1.catalogue_entry_id", "lines.1.unit_price", "lines.2.catalogue_entry_id"}
    assert resp.json["message"].startswith("2 line(s)")
    assert PurchaseOrder.query.count() == 0


def test_malformed_lines_are_refused_by_field(ops, ctx):
    entry = make_entry()
    payload = po_payload([entry.id])
    payload["lines"] = [
        {"catalogue_entry_id": entry.id, "quantity": 0, "unit_price": "10.00"},
        {"catalogue_entry_id": entry.id, "quantity": 1, "unit_price": "-1.00"},
        {"catalogue_entry_id": entry.id, "quantity": 1, "unit_price": "10.005"},
    ]
    resp = ops.post(URL, json=payload)
    assert resp.status_code == 422
    assert {"lines.0.quantity", "lines.1.unit_price", "lines.2.unit_price"} <= set(resp.json["errors"])
    assert ops.post(URL, json=po_payload([entry.id], lines=[])).json["errors"].keys() == {"lines"}


def test_duplicate_po_number_is_a_conflict(ops, ctx):
    entry = make_entry()
    assert ops.post(URL, json=po_payload([entry.id])).status_code == 201
    resp = ops.post(URL, json=po_payload([entry.id]))
    assert resp.status_code == 409
    assert "number" in resp.json["errors"]


def test_list_filters_by_search_supplier_and_date(ops, ctx):
    entry = make_entry()
    for number, supplier, day in (("PO-A", "Shantou Huayu", "2021-04-01"), ("PO-B", "Chaozhou Anxin", "2021-05-10"), ("PO-C", "Shantou Huayu", "2021-06-20")):
        assert ops.post(URL, json=po_payload([entry.id], number=number, supplier=supplier, order_date=day)).status_code == 201

    def numbers(query):
        resp = ops.get(URL + query)
        assert resp.status_code == 200
        return [po["number"] for po in resp.json["items"]]

    assert numbers("") == ["PO-C", "PO-B", "PO-A"]
    assert numbers("?q=po-b") == ["PO-B"]
    assert numbers("?supplier=huayu") == ["PO-C", "PO-A"]
    assert numbers("?date_from=2021-05-01&date_to=2021-06-01") == ["PO-B"]
    assert numbers("?q=%25") == []  # LIKE wildcards are taken literally
    page = ops.get(URL + "?page=2&page_size=2").json
    assert (page["total"], page["pages"], [po["number"] for po in page["items"]]) == (3, 2, ["PO-A"])
    assert ops.get(URL + "?date_from=yesterday").status_code == 422


def test_detail_shows_lines_with_received_counts(ops, ctx):
    a, b = make_entry(), make_entry()
    po = make_po([a, b], quantity=5)
    make_devices(po, 3, line_no=2)
    resp = ops.get(f"{URL}/{po.id}")
    assert resp.status_code == 200
    assert [(line["line_no"], line["quantity"], line["received"]) for line in resp.json["lines"]] == [(1, 5, 0), (2, 5, 3)]
    assert resp.json["received"] == 3
    assert ops.get(f"{URL}/999999").status_code == 404
