"""The approved catalogue through the REST API: entries, filters, withdrawal, deletion, access."""
import importlib

import pytest

from tests.factories import entry_payload


def create(ops, **overrides):
    resp = ops.post("/api/catalogue", json=entry_payload(**overrides))
    assert resp.status_code == 201, resp.json
    return resp.json


def test_ops_adds_an_entry_and_reads_it_back(ops):
    entry = create(ops)
    assert entry["bid_unit_price"] == "2380.00"
    assert entry["device_type"] == "all_in_one"
    assert entry["withdrawn_on"] is None
    got = ops.get(f"/api/catalogue/{entry['id']}").json
    assert got == entry


def test_missing_fields_default_to_no_capability(ops):
    payload = entry_payload()
    for key in ("adas", "dsm", "bsd", "jtt808", "jtt1078", "gd_active_safety", "valid_to"):
        payload.pop(key)
    entry = ops.post("/api/catalogue", json=payload).json
    assert (entry["adas"], entry["dsm"], entry["bsd"], entry["valid_to"]) == (False, False, False, None)


def test_same_batch_lot_and_model_twice_is_a_conflict(ops):
    create(ops)
    resp = ops.post("/api/catalogue", json=entry_payload(manufacturer="Other"))
    assert resp.status_code == 409
    assert "model_code" in resp.json["errors"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("bid_unit_price", "abc"),
        ("bid_unit_price", "0"),
        ("bid_unit_price", "-5.00"),
        ("bid_unit_price", "12.345"),
        ("bid_unit_price", "NaN"),
        ("bid_unit_price", "1e30"),
        ("valid_from", "2021-02-30"),
        ("valid_to", "not a date"),
        ("device_type", "dashcam"),
        ("video_channels", -1),
        ("tender_batch", ""),
    ],
)
def test_bad_input_is_refused_naming_the_field(ops, field, value):
    resp = ops.post("/api/catalogue", json=entry_payload(**{field: value}))
    assert resp.status_code == 422
    assert field in resp.json["errors"], resp.json
    assert ops.get("/api/catalogue").json["total"] == 0


def test_validity_ending_before_it_starts_names_valid_to(ops):
    resp = ops.post("/api/catalogue", json=entry_payload(valid_from="2022-01-01", valid_to="2021-12-31"))
    assert resp.status_code == 422
    assert list(resp.json["errors"]) == ["valid_to"]


def test_list_searches_and_filters(ops):
    create(ops, manufacturer="Streamax", model_code="C6D-AI", tender_batch="GD-2021-01")
    create(ops, manufacturer="Howen", model_code="HERO-ME31", tender_batch="GD-2021-02", device_type="split")
    create(ops, manufacturer="Jimi", model_code="JC450", tender_batch="GD-2020-07", valid_from="2020-07-01", valid_to="2021-06-30")
    withdrawn = create(ops, manufacturer="Howen", model_code="HERO-OLD", tender_batch="GD-2020-07", valid_from="2020-07-01")
    assert ops.post(f"/api/catalogue/{withdrawn['id']}/withdraw", json={"withdrawn_on": "2021-05-01"}).status_code == 200

    def models(query):
        resp = ops.get("/api/catalogue" + query)
        assert resp.status_code == 200, resp.json
        return sorted(e["model_code"] for e in resp.json["items"])

    assert models("") == ["C6D-AI", "HERO-ME31", "HERO-OLD", "JC450"]
    assert models("?q=hero") == ["HERO-ME31", "HERO-OLD"]
    assert models("?q=2020-07") == ["HERO-OLD", "JC450"]
    assert models("?manufacturer=Howen") == ["HERO-ME31", "HERO-OLD"]
    assert models("?device_type=split") == ["HERO-ME31"]
    assert models("?include_withdrawn=false") == ["C6D-AI", "HERO-ME31", "JC450"]
    # 2021-04-15: the old Howen is still listed (withdrawn from May), the 2021 batch is valid from March.
    assert models("?usable_on=2021-04-15") == ["C6D-AI", "HERO-ME31", "HERO-OLD", "JC450"]
    assert models("?usable_on=2021-05-01") == ["C6D-AI", "HERO-ME31", "JC450"]
    assert models("?usable_on=2021-07-01") == ["C6D-AI", "HERO-ME31"]
    assert models("?usable_on=2020-12-01") == ["HERO-OLD", "JC450"]


def test_usable_on_filter_agrees_with_the_model_rule(ops, ctx):
    from insurer_dms.catalogue import service

    create(ops, model_code="A", valid_from="2021-03-01", valid_to="2021-03-31")
    b = create(ops, model_code="B", valid_from="2021-03-10")
    ops.post(f"/api/catalogue/{b['id']}/withdraw", json={"withdrawn_on": "2021-03-20"})
    import datetime as dt

    from insurer_dms.extensions import db

    for day in (dt.date(2021, 2, 28), dt.date(2021, 3, 1), dt.date(2021, 3, 10), dt.date(2021, 3, 20), dt.date(2021, 4, 1)):
        everything = db.session.scalars(service.entries_query()).all()
        expected = sorted(e.model_code for e in everything if e.usable_on(day) is None)
        got = sorted(e.model_code for e in db.session.scalars(service.entries_query(usable_on=day)))
        assert got == expected, day


def test_list_pages(ops):
    for i in range(7):
        create(ops, model_code=f"M{i}")
    first = ops.get("/api/catalogue?page_size=3").json
    assert (first["total"], first["pages"], len(first["items"])) == (7, 3, 3)
    last = ops.get("/api/catalogue?page_size=3&page=3").json
    assert len(last["items"]) == 1


def test_bad_filter_is_a_422_naming_it(ops):
    resp = ops.get("/api/catalogue?usable_on=yesterday")
    assert resp.status_code == 422
    assert "usable_on" in resp.json["errors"]


def test_patch_changes_only_what_is_sent_and_records_it(ops):
    entry = create(ops)
    resp = ops.patch(f"/api/catalogue/{entry['id']}", json={"bid_unit_price": "2200.00", "bsd": True})
    assert resp.status_code == 200, resp.json
    assert (resp.json["bid_unit_price"], resp.json["bsd"], resp.json["model_code"]) == ("2200.00", True, "C6D-AI")
    history = ops.get(f"/api/catalogue/{entry['id']}/history").json
    assert [h["action"] for h in history] == ["create", "update"]
    assert history[1]["before"] == {"bid_unit_price": "2380.00", "bsd": False}
    assert history[1]["after"] == {"bid_unit_price": "2200.00", "bsd": True}
    assert history[1]["actor"] == "ops@example.com"


def test_patch_cannot_end_validity_before_it_starts(ops):
    entry = create(ops, valid_from="2021-03-01", valid_to=None)
    resp = ops.patch(f"/api/catalogue/{entry['id']}", json={"valid_to": "2021-01-01"})
    assert resp.status_code == 422
    assert "valid_to" in resp.json["errors"]


def test_patch_refuses_bad_values_and_withdrawal(ops):
    entry = create(ops)
    assert "bid_unit_price" in ops.patch(f"/api/catalogue/{entry['id']}", json={"bid_unit_price": "-1"}).json["errors"]
    resp = ops.patch(f"/api/catalogue/{entry['id']}", json={"withdrawn_on": "2021-05-01"})
    assert resp.status_code == 422
    assert "withdrawn_on" in resp.json["errors"]


def test_patch_onto_another_entrys_key_is_a_conflict(ops):
    create(ops, model_code="A")
    b = create(ops, model_code="B")
    assert ops.patch(f"/api/catalogue/{b['id']}", json={"model_code": "A"}).status_code == 409


def test_withdraw_sets_the_date_once(ops):
    entry = create(ops)
    resp = ops.post(f"/api/catalogue/{entry['id']}/withdraw", json={"withdrawn_on": "2021-09-30"})
    assert resp.status_code == 200
    assert resp.json["withdrawn_on"] == "2021-09-30"
    again = ops.post(f"/api/catalogue/{entry['id']}/withdraw", json={"withdrawn_on": "2021-10-01"})
    assert again.status_code == 409
    assert "withdrawn_on" in again.json["errors"]
    assert [h["action"] for h in ops.get(f"/api/catalogue/{entry['id']}/history").json] == ["create", "withdraw"]


def test_withdraw_needs_a_date(ops):
    entry = create(ops)
    resp = ops.post(f"/api/catalogue/{entry['id']}/withdraw", json={})
    assert resp.status_code == 422
    assert "withdrawn_on" in resp.json["errors"]


def test_delete_an_unreferenced_entry(ops, ctx):
    from insurer_dms.activity import history

    entry = create(ops)
    assert ops.delete(f"/api/catalogue/{entry['id']}").status_code == 204
    assert ops.get(f"/api/catalogue/{entry['id']}").status_code == 404
    assert [h.action for h in history("catalogue_entry", entry["id"])] == ["create", "delete"]


def test_unknown_entry_is_404(ops):
    for method, url in [("get", "/api/catalogue/999"), ("patch", "/api/catalogue/999"), ("delete", "/api/catalogue/999"),
                        ("post", "/api/catalogue/999/withdraw"), ("get", "/api/catalogue/999/history")]:
        body = {"withdrawn_on": "2021-01-01"} if method == "post" else ({} if method == "patch" else None)
        resp = getattr(ops, method)(url, json=body) if body is not None else getattr(ops, method)(url)
        assert resp.status_code == 404, (method, url)


def _order_one(ops, entry_id):
    """Reference the entry from a purchase order line through the inventory API."""
    models = importlib.import_module("insurer_dms.inventory.models")
    if not hasattr(models, "PurchaseOrderLine"):
        pytest.skip("inventory has no PurchaseOrderLine yet; the referenced-entry rule needs a referencing table")
    resp = ops.post("/api/purchase-orders", json={
        "number": "PO-2021-001", "supplier": "Guangdong Device Supply", "order_date": "2021-04-01",
        "lines": [{"catalogue_entry_id": entry_id, "quantity": 10, "unit_price": "2300.00"}],
    })
    assert resp.status_code == 201, resp.json


def test_referenced_entry_cannot_be_deleted_only_withdrawn(ops):
    entry = create(ops)
    _order_one(ops, entry["id"])
    resp = ops.delete(f"/api/catalogue/{entry['id']}")
    assert resp.status_code == 409
    assert "withdraw it instead" in resp.json["message"]
    assert ops.get(f"/api/catalogue/{entry['id']}").status_code == 200
    assert ops.post(f"/api/catalogue/{entry['id']}/withdraw", json={"withdrawn_on": "2021-06-01"}).status_code == 200


def test_referenced_entry_keeps_its_price_and_start(ops):
    entry = create(ops)
    _order_one(ops, entry["id"])
    for change in ({"bid_unit_price": "2000.00"}, {"valid_from": "2021-04-02"}):
        resp = ops.patch(f"/api/catalogue/{entry['id']}", json=change)
        assert resp.status_code == 409
        assert list(resp.json["errors"]) == list(change)
    # Other fields may still be corrected, and sending the unchanged price is not a change.
    resp = ops.patch(f"/api/catalogue/{entry['id']}", json={"bsd": True, "bid_unit_price": "2380.00"})
    assert resp.status_code == 200, resp.json


def test_delete_is_guarded_by_the_foreign_key_too(ops, ctx, monkeypatch):
    """Even if the reference check misses a row (a race), the database refuses and the answer is 409."""
    from insurer_dms.catalogue import service

    entry = create(ops)
    _order_one(ops, entry["id"])
    monkeypatch.setattr(service, "is_referenced", lambda entry_id: False)
    resp = ops.delete(f"/api/catalogue/{entry['id']}")
    assert resp.status_code == 409
    assert ops.get(f"/api/catalogue/{entry['id']}").status_code == 200


ENDPOINTS = [
    ("get", "/api/catalogue"),
    ("post", "/api/catalogue"),
    ("get", "/api/catalogue/{id}"),
    ("patch", "/api/catalogue/{id}"),
    ("delete", "/api/catalogue/{id}"),
    ("post", "/api/catalogue/{id}/withdraw"),
    ("get", "/api/catalogue/{id}/history"),
    ("post", "/api/catalogue/import"),
]


@pytest.mark.parametrize("method, url", ENDPOINTS)
def test_anonymous_is_401_and_other_roles_403(ops, anon, contractor, reviewer, method, url):
    entry = create(ops)
    url = url.format(id=entry["id"])
    body = {"json": {"withdrawn_on": "2021-01-01"}} if method in ("post", "patch") else {}
    for client, status in ((anon, 401), (contractor, 403), (reviewer, 403)):
        assert getattr(client, method)(url, **body).status_code == status
    assert ops.get(f"/api/catalogue/{entry['id']}").json["withdrawn_on"] is None


def test_every_catalogue_endpoint_is_documented(ops):
    paths = ops.get("/api/openapi.json").json["paths"]
    assert set(paths["/api/catalogue"]) >= {"get", "post"}
    assert set(paths["/api/catalogue/{entry_id}"]) >= {"get", "patch", "delete"}
    assert "post" in paths["/api/catalogue/{entry_id}/withdraw"]
    assert "get" in paths["/api/catalogue/{entry_id}/history"]
    assert "multipart/form-data" in paths["/api/catalogue/import"]["post"]["requestBody"]["content"]
