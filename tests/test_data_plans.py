"""Data plans: the carriers' price lists, by API and by file (all or nothing), checked before anything is stored."""
import pytest

from tests.sim_factories import PLAN_HEADERS, SAMPLE_PLANS, csv_bytes, plan_payload, plan_rows, upload, xlsx_bytes


def test_ops_adds_a_plan_whose_name_and_start_default(ops):
    resp = ops.post("/api/data-plans", json=plan_payload())
    assert resp.status_code == 201, resp.json
    plan = resp.json
    assert plan["name"] == "CM-IOT-1G" and plan["valid_from"] == "2020-01-01" and plan["valid_to"] is None
    assert plan["monthly_fee"] == "10.00" and plan["overage_per_mb"] == "0.29" and plan["allowance_mb"] == 1024
    assert ops.get(f"/api/data-plans/{plan['id']}").json["sim_count"] == 0


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"carrier": "china_railcom"}, "carrier"),
        ({"monthly_fee": "10.005"}, "monthly_fee"),
        ({"monthly_fee": "-1.00"}, "monthly_fee"),
        ({"monthly_fee": "ten"}, "monthly_fee"),
        ({"overage_per_mb": "0.291"}, "overage_per_mb"),
        ({"allowance_mb": -1}, "allowance_mb"),
        ({"allowance_mb": 1.5}, "allowance_mb"),
        ({"allowance_mb": 10**12}, "allowance_mb"),
        ({"code": ""}, "code"),
        ({"code": "X" * 41}, "code"),
        ({"valid_from": "2022-01-01", "valid_to": "2021-12-31"}, "valid_to"),
        ({"valid_from": "soon"}, "valid_from"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_field(ops, overrides, field):
    resp = ops.post("/api/data-plans", json=plan_payload(**overrides))
    assert resp.status_code == 422
    assert field in resp.json["errors"]
    assert ops.get("/api/data-plans").json["total"] == 0


def test_a_missing_field_is_named(ops):
    payload = plan_payload()
    del payload["monthly_fee"]
    resp = ops.post("/api/data-plans", json=payload)
    assert resp.status_code == 422 and "monthly_fee" in resp.json["errors"]


def test_the_same_code_twice_for_a_carrier_is_a_conflict_but_another_carrier_may_use_it(ops):
    assert ops.post("/api/data-plans", json=plan_payload()).status_code == 201
    resp = ops.post("/api/data-plans", json=plan_payload(monthly_fee="12.00"))
    assert resp.status_code == 409 and "code" in resp.json["errors"]
    assert ops.post("/api/data-plans", json=plan_payload(carrier="china_unicom")).status_code == 201


def test_list_filters_by_carrier_search_and_validity(ops):
    ops.post("/api/data-plans", json=plan_payload())
    ops.post("/api/data-plans", json=plan_payload(code="CU-5G", carrier="china_unicom", name="Unicom 5 GB"))
    ops.post("/api/data-plans", json=plan_payload(code="CM-OLD", valid_from="2020-01-01", valid_to="2020-12-31"))
    assert [p["code"] for p in ops.get("/api/data-plans?carrier=china_unicom").json["items"]] == ["CU-5G"]
    assert [p["code"] for p in ops.get("/api/data-plans?q=unicom").json["items"]] == ["CU-5G"]
    assert {p["code"] for p in ops.get("/api/data-plans?valid_on=2024-01-01").json["items"]} == {"CM-IOT-1G", "CU-5G"}
    assert ops.get("/api/data-plans?carrier=mars").status_code == 422


def test_patch_changes_fees_and_keeps_validity_ordered(ops):
    plan = ops.post("/api/data-plans", json=plan_payload(valid_from="2021-01-01")).json
    resp = ops.patch(f"/api/data-plans/{plan['id']}", json={"monthly_fee": "12.50", "name": "IoT 1 GB"})
    assert resp.status_code == 200 and resp.json["monthly_fee"] == "12.50" and resp.json["name"] == "IoT 1 GB"
    resp = ops.patch(f"/api/data-plans/{plan['id']}", json={"valid_to": "2020-06-30"})
    assert resp.status_code == 422 and "valid_to" in resp.json["errors"]
    assert ops.patch(f"/api/data-plans/{plan['id']}", json={"allowance_mb": -5}).status_code == 422
    assert ops.patch("/api/data-plans/999", json={"name": "x"}).status_code == 404


def test_patch_refuses_a_code_taken_and_a_carrier_change_under_sims(ops):
    first = ops.post("/api/data-plans", json=plan_payload()).json
    second = ops.post("/api/data-plans", json=plan_payload(code="CM-IOT-3G")).json
    resp = ops.patch(f"/api/data-plans/{second['id']}", json={"code": "CM-IOT-1G"})
    assert resp.status_code == 409 and "code" in resp.json["errors"]
    from tests.sim_factories import sim_payload

    assert ops.post("/api/sims", json=sim_payload(1, plan_id=first["id"])).status_code == 201
    resp = ops.patch(f"/api/data-plans/{first['id']}", json={"carrier": "china_unicom"})
    assert resp.status_code == 409 and "carrier" in resp.json["errors"]
    assert ops.patch(f"/api/data-plans/{second['id']}", json={"carrier": "china_unicom"}).status_code == 200


# ---- file import -----------------------------------------------------------------------------------------


def test_the_sample_plan_file_imports_and_again_changes_nothing(ops):
    data = SAMPLE_PLANS.read_bytes()
    resp = upload(ops, "/api/data-plans/import", data, SAMPLE_PLANS.name)
    assert resp.status_code == 201, resp.json
    assert resp.json == {"created": 3, "unchanged": 0}
    plans = {p["code"]: p for p in ops.get("/api/data-plans").json["items"]}
    assert plans["CM-IOT-10G"]["monthly_fee"] == "45.50" and plans["CM-IOT-10G"]["allowance_mb"] == 10240
    assert plans["CM-IOT-10G"]["name"] == "CM-IOT-10G" and plans["CM-IOT-10G"]["valid_from"] == "2020-01-01"
    before = ops.get("/api/data-plans").json

    again = upload(ops, "/api/data-plans/import", data, SAMPLE_PLANS.name)
    assert again.json == {"created": 0, "unchanged": 3}
    assert ops.get("/api/data-plans").json == before


def test_xlsx_with_chinese_headers_and_carrier_names_imports(ops):
    headers = ["套餐编码", "运营商", "套餐名称", "月费(元)", "套餐流量(MB)", "超套单价(元/MB)", "生效日期", "失效日期"]
    rows = [["CT-2G", "中国电信", "电信物联网2G", 15.5, 2048, 0.25, "2021/3/1", None]]
    resp = upload(ops, "/api/data-plans/import", xlsx_bytes(headers, rows), "plans.xlsx")
    assert resp.status_code == 201, resp.json
    plan = ops.get("/api/data-plans").json["items"][0]
    assert (plan["carrier"], plan["name"], plan["monthly_fee"], plan["valid_from"]) == ("china_telecom", "电信物联网2G", "15.50", "2021-03-01")


def test_a_file_with_a_few_bad_rows_among_many_stores_nothing_and_lists_each(ops):
    rows = plan_rows(200)
    rows[9][1] = "china_railcom"       # row 11: unknown carrier
    rows[49][2] = "12.345"             # row 51: three decimals
    rows[99][3] = "-1"                 # row 101: negative allowance
    rows[149][4] = "free"              # row 151: not a price
    rows[179][0] = rows[178][0]        # row 181: same code as row 180
    resp = upload(ops, "/api/data-plans/import", csv_bytes(PLAN_HEADERS, rows), "plans.csv")
    assert resp.status_code == 422
    found = {(r["row"], r["column"]) for r in resp.json["rows"]}
    assert found == {(11, "carrier"), (51, "monthly_fee"), (101, "allowance_mb"), (151, "overage_per_mb"), (181, "code")}
    assert "row 180" in [r for r in resp.json["rows"] if r["row"] == 181][0]["message"]
    assert ops.get("/api/data-plans").json["total"] == 0


def test_a_row_differing_from_a_stored_plan_is_refused_and_a_missing_column_named(ops):
    ops.post("/api/data-plans", json=plan_payload())
    rows = [["CM-IOT-1G", "china_mobile", "11.00", "1024", "0.29"], ["CM-IOT-3G", "china_mobile", "20.00", "3072", "0.20"]]
    resp = upload(ops, "/api/data-plans/import", csv_bytes(PLAN_HEADERS, rows), "plans.csv")
    assert resp.status_code == 422
    assert resp.json["rows"][0]["row"] == 2 and "monthly_fee" in resp.json["rows"][0]["message"]
    assert ops.get("/api/data-plans").json["total"] == 1
    resp = upload(ops, "/api/data-plans/import", csv_bytes(PLAN_HEADERS[:-1], [r[:-1] for r in rows]), "plans.csv")
    assert resp.status_code == 422 and resp.json["rows"][0]["column"] == "overage_per_mb"


def test_validity_out_of_order_in_a_file_is_a_row_error(ops):
    headers = PLAN_HEADERS + ["valid_from", "valid_to"]
    resp = upload(ops, "/api/data-plans/import",
                  csv_bytes(headers, [["P1", "china_mobile", "10.00", "1024", "0.29", "2022-01-01", "2021-01-01"]]), "p.csv")
    assert resp.status_code == 422 and resp.json["rows"][0]["column"] == "valid_to"


def test_a_file_of_another_type_is_refused(ops):
    resp = upload(ops, "/api/data-plans/import", b"code\nx\n", "plans.txt")
    assert resp.status_code == 422 and "file" in resp.json["errors"]


# ---- who may ----------------------------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "/api/data-plans"), ("post", "/api/data-plans"), ("get", "/api/data-plans/{id}"),
    ("patch", "/api/data-plans/{id}"), ("post", "/api/data-plans/import"),
]


@pytest.mark.parametrize("method, url", ENDPOINTS)
def test_plan_endpoints_are_for_operations_staff_only(ops, anon, contractor, reviewer, method, url):
    plan = ops.post("/api/data-plans", json=plan_payload()).json
    url = url.format(id=plan["id"])
    assert getattr(anon, method)(url, json={}).status_code == 401
    for client in (contractor, reviewer):
        assert getattr(client, method)(url, json={"name": "changed"}).status_code == 403
    assert ops.get(f"/api/data-plans/{plan['id']}").json["name"] == "CM-IOT-1G"
