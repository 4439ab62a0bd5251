"""Edge input a user or a script can send gets a clear 4xx with the one error body, never a 500.

The bounds live in the shared field types (insurer_dms/fields.py) and the route converters, so these tests pick a
few endpoints of each kind; tests/test_openapi_bounds.py proves every endpoint carries them.
"""
import json

import pytest

from tests import install_factories as f
from tests.factories import entry_payload, make_entry, make_po

BIG = 2**31  # one beyond PostgreSQL's integer


def assert_error(resp, code):
    assert resp.status_code == code, resp.get_data(as_text=True)[:500]
    body = resp.json
    assert body["code"] == code and body["message"]
    return body


# ---- ids and pages -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/trucks/2147483648", "/api/trucks/99999999999999999999999", "/api/trucks/0",
                                 "/api/work-orders/2147483648", "/api/audits/9223372036854775807/findings"])
def test_an_id_beyond_the_column_names_no_row(ops, url):
    assert_error(ops.get(url), 404)


def test_the_largest_id_the_column_holds_is_simply_not_found(ops):
    assert_error(ops.get("/api/trucks/2147483647"), 404)


def test_a_page_path_with_a_huge_id_is_not_found(ops):
    resp = ops.get("/trucks/2147483648")
    assert resp.status_code == 404


@pytest.mark.parametrize("query", ["audit_id=2147483648", "finding_id=-1", "page=9223372036854775807", "page=0",
                                   "page_size=100000", "audit_id=1e3"])
def test_an_out_of_range_query_number_is_422_naming_it(ops, query):
    body = assert_error(ops.get(f"/api/queries?{query}"), 422)
    assert query.split("=")[0] in body["errors"]


def test_a_huge_page_on_a_list_page_is_ignored_with_a_message(ops):
    resp = ops.get("/trucks?page=9223372036854775807")
    assert resp.status_code == 200


# ---- text ----------------------------------------------------------------------------------------------------


def test_nul_in_a_search_filter_is_422(ops):
    body = assert_error(ops.get("/api/work-orders?q=%00"), 422)
    assert body["errors"]["q"] == ["Text may not contain the NUL character."]


def test_nul_in_a_json_string_is_422_with_the_field(ctx, ops):
    order = f.open_order()
    body = assert_error(ops.post(f"/api/work-orders/{order.id}/cancel", json={"reason": "a\u0000b"}), 422)
    assert body["errors"]["reason"] == ["Text may not contain the NUL character."]


def test_a_lone_surrogate_in_a_json_string_is_422(ctx, ops):
    order = f.open_order()
    raw = '{"reason": "a\\ud800b"}'  # valid JSON text, but no UTF-8 can carry it
    body = assert_error(ops.post(f"/api/work-orders/{order.id}/cancel", data=raw, content_type="application/json"), 422)
    assert body["errors"]["reason"] == ["Text may not contain unpaired surrogate characters."]


def test_nul_in_a_page_form_is_422_and_nothing_changes(ctx, ops):
    order = f.open_order()
    resp = ops.post(f"/work-orders/{order.id}/cancel", data={"reason": "x\x00y"})
    assert resp.status_code == 422
    assert ops.get(f"/api/work-orders/{order.id}").json["state"] == "open"


def test_nul_in_a_path_name_does_not_match_a_route(ops):
    assert ops.get("/api/audits/1/files/c%00sv").status_code == 404


# ---- JSON bodies ---------------------------------------------------------------------------------------------


def test_json_nested_100000_deep_is_400(ops):
    body = assert_error(ops.post("/api/work-orders", data="[" * 100_000 + "]" * 100_000, content_type="application/json"), 400)
    assert "nested" in body["message"]


def test_json_nested_a_little_too_deep_is_400(ops):
    deep = {"truck_id": 1}
    for _ in range(40):
        deep = {"x": deep}
    assert_error(ops.post("/api/work-orders", json=deep), 400)


def test_an_oversized_json_body_is_413(app, ops):
    size = app.config["JSON_MAX_BYTES"] + 1
    assert_error(ops.post("/api/work-orders", data=json.dumps({"note": "x" * size}), content_type="application/json"), 413)


# ---- dates and times -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-05:00", "0269-05-01T10:00:00",
                                    "1989-12-31T23:59:59+08:00", "2101-01-01T00:00:00Z"])
def test_a_datetime_outside_the_calendar_window_is_422_on_schedule_and_close(ctx, ops, moment):
    order = f.scheduled_order()
    body = assert_error(ops.post(f"/api/work-orders/{order.id}/schedule", json={"appointment_at": moment}), 422)
    assert body["errors"]["appointment_at"] == ["Must be between 1990-01-01 and 2100-12-31."]
    device = f.stock_device()
    close = {**f.close_data(device), "installed_at": moment}
    body = assert_error(ops.post(f"/api/work-orders/{order.id}/close", json=close), 422)
    assert "installed_at" in body["errors"]


def test_a_datetime_inside_the_window_is_accepted(ctx, ops):
    order = f.scheduled_order()
    resp = ops.post(f"/api/work-orders/{order.id}/schedule", json={"appointment_at": "2100-12-31T23:00:00+08:00"})
    assert resp.status_code == 200, resp.json


@pytest.mark.parametrize("day", ["0001-01-01", "0269-03-01", "9999-12-31"])
def test_a_date_outside_the_window_is_422(ops, day):
    body = assert_error(ops.post("/api/catalogue", json=entry_payload(valid_from=day)), 422)
    assert body["errors"]["valid_from"] == ["Must be between 1990-01-01 and 2100-12-31."]


def test_a_date_outside_the_window_in_a_file_is_a_row_error(ops):
    from tests.factories import catalogue_rows, csv_bytes, upload_catalogue

    from tests.factories import HEADERS_EN

    rows = catalogue_rows(1)
    rows[0][HEADERS_EN.index("valid_from")] = "0269/3/1"
    body = assert_error(upload_catalogue(ops, csv_bytes(HEADERS_EN, rows), "catalogue.csv"), 422)
    assert body["rows"][0]["row"] == 2 and "1990-01-01" in body["rows"][0]["message"]


# ---- money ---------------------------------------------------------------------------------------------------


def test_a_correction_beyond_the_column_is_422(ctx, ops):
    from insurer_dms.extensions import db
    from insurer_dms.ledger import service as ledger

    entry = ledger.post("travel", "100.00", "2026-09", "ticket", 1)
    db.session.commit()
    body = assert_error(ops.post(f"/api/ledger/entries/{entry.id}/correction",
                                 json={"amount": "100000000000", "note": "too big"}), 422)
    assert body["errors"]["amount"] == ["Must be greater than or equal to -9999999999.99 and less than or equal to 9999999999.99."]


def test_a_negative_purchase_price_is_422(ctx, ops):
    from tests.factories import po_payload

    entry = make_entry()
    body = assert_error(ops.post("/api/purchase-orders", json=po_payload([entry.id], unit_price="-999999999.99")), 422)
    assert any("unit_price" in key for key in body["errors"])


@pytest.mark.parametrize("amount, message", [
    ("1e20", "Must be greater than or equal to 0.01 and less than or equal to 9999999999.99."),
    ("1e400", "Must be between 0.01 and 9999999999.99."),
    ("12.345", "At most two decimal places (CNY fen)."),
    ("NaN", None),
])
def test_a_refund_amount_is_checked_against_its_bounds(reviewer, amount, message):
    body = assert_error(reviewer.post("/api/queries/2147483647/close", json={"verdict": "upheld", "refund_amount": amount}), 422)
    assert "refund_amount" in body["errors"]
    if message:
        assert body["errors"]["refund_amount"] == [message]


def test_money_is_returned_as_a_string(ctx, ops):
    po = make_po()
    line = ops.get(f"/api/purchase-orders/{po.id}").json["lines"][0]
    assert line["unit_price"] == "2200.00"


# ---- searches ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["%", "_", "%25", "8986%", "\\"])
def test_like_wildcards_in_a_search_match_only_themselves(ops, q):
    from tests.sim_factories import sim_payload

    for n in (1, 2):
        assert ops.post("/api/sims", json=sim_payload(n)).status_code == 201
    assert ops.get("/api/sims", query_string={"q": q}).json["total"] == 0
    assert ops.get("/api/catalogue", query_string={"q": q}).json["total"] == 0
    assert ops.get("/api/data-plans", query_string={"q": q}).json["total"] == 0
    assert ops.get("/api/sims", query_string={"q": "8986"}).json["total"] == 2


def test_a_multipart_part_without_a_name_is_not_a_500(ops):
    body = (b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n"
            b"--b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\na\x00b\r\n--b--\r\n")
    resp = ops.post("/api/statements", data=body, content_type="multipart/form-data; boundary=b")
    assert resp.status_code == 422
    assert resp.json["errors"]["note"] == ["Text may not contain the NUL character."]
