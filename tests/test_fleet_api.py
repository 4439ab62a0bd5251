"""The operators, trucks and policies API: what ops can do, what bad input gets, who is refused."""
import pytest

from insurer_dms.activity import Activity

CREDIT = "91445102MA4WJ8Q61X"
OTHER_CREDIT = "91350100M000100Y43"
VIN = "LSVAM4187C2184847"
OTHER_VIN = "1M8GDM9AXKP042788"


def _valid_credit(code):
    from insurer_dms.fleet.identifiers import credit_check_character

    return code[:17] + credit_check_character(code[:17])


CREDIT = _valid_credit(CREDIT)


def new_operator(ops, **over):
    body = {"name": "潮州市韩江物流有限公司", "credit_code": CREDIT, "county_code": "445102", "contact_phone": "0768-2281234", **over}
    resp = ops.post("/api/operators", json=body)
    assert resp.status_code == 201, resp.json
    return resp.json


def new_truck(ops, operator_id, **over):
    body = {"plate": "粤U23456", "plate_colour": 2, "vin": VIN, "vehicle_type": "semi_trailer_tractor", "total_mass_kg": 25000,
            "county_code": "445103", "operator_id": operator_id, **over}
    resp = ops.post("/api/trucks", json=body)
    assert resp.status_code == 201, resp.json
    return resp.json


def new_policy(ops, truck_id, **over):
    body = {"number": "PDAA202444510300000001", "truck_id": truck_id, "kind": "commercial", "start_date": "2024-03-01",
            "end_date": "2025-02-28", "premium": "9180.00", "benchmark_premium": "10800.00", "ncd_coefficient": "0.8500",
            "autonomous_coefficient": "1.0000", "sum_insured_third_party": "2000000.00", **over}
    resp = ops.post("/api/policies", json=body)
    assert resp.status_code == 201, resp.json
    return resp.json


@pytest.fixture
def truck(ops):
    operator = new_operator(ops)
    return new_truck(ops, operator["id"])


def test_ops_registers_an_operator_a_truck_and_a_policy(ops):
    operator = new_operator(ops, credit_code=CREDIT.lower())
    assert operator["credit_code"] == CREDIT
    truck = new_truck(ops, operator["id"], plate="粤u 23456", vin=VIN.lower())
    assert truck["plate"] == "粤U23456" and truck["vin"] == VIN
    assert truck["is_heavy"] is True
    assert truck["operator"]["name"] == "潮州市韩江物流有限公司"
    policy = new_policy(ops, truck["id"])
    assert policy["premium"] == "9180.00"
    assert policy["violation_coefficient"] == "1.0000"  # not applied: neutral
    assert policy["truck"]["plate"] == "粤U23456"

    detail = ops.get(f"/api/trucks/{truck['id']}").json
    assert [p["number"] for p in detail["policies"]] == ["PDAA202444510300000001"]
    assert ops.get(f"/api/operators/{operator['id']}").json["county_name"].startswith("Xiangqiao")
    assert ops.get(f"/api/policies/{policy['id']}").json["ncd_coefficient"] == "0.8500"


def test_patches_change_fields_and_are_recorded(app, ops, truck):
    resp = ops.patch(f"/api/trucks/{truck['id']}", json={"vehicle_type": "goods_vehicle", "total_mass_kg": 11999})
    assert resp.status_code == 200
    assert resp.json["is_heavy"] is False
    resp = ops.patch(f"/api/operators/{truck['operator']['id']}", json={"contact_phone": "13800138000"})
    assert resp.json["contact_phone"] == "13800138000"
    policy = new_policy(ops, truck["id"])
    resp = ops.patch(f"/api/policies/{policy['id']}", json={"autonomous_coefficient": "1.15", "premium": "10557.00"})
    assert resp.json["autonomous_coefficient"] == "1.1500"
    with app.app_context():
        from insurer_dms.activity import history

        update = history("policy", policy["id"])[-1]
        assert update.action == "update"
        assert update.before == {"autonomous_coefficient": "1.0000", "premium": "9180.00"}
        assert update.after == {"autonomous_coefficient": "1.1500", "premium": "10557.00"}
        assert update.actor == "ops@example.com"


def test_lists_filter_and_page(ops):
    operator = new_operator(ops)
    other = new_operator(ops, name="饶平县顺安运输有限公司", credit_code=OTHER_CREDIT, county_code="445122")
    heavy = new_truck(ops, operator["id"])
    light = new_truck(ops, other["id"], plate="粤U1234挂", vin=OTHER_VIN, vehicle_type="trailer", total_mass_kg=40000, county_code="445122")
    new_policy(ops, heavy["id"])
    new_policy(ops, light["id"], number="PDZA202444512200000002", kind="compulsory", autonomous_coefficient=None,
               start_date="2023-01-01", end_date="2023-12-31")

    def ids(url):
        resp = ops.get(url)
        assert resp.status_code == 200, resp.json
        return [i["id"] for i in resp.json["items"]]

    assert ids("/api/trucks?heavy=true") == [heavy["id"]]
    assert ids("/api/trucks?heavy=false") == [light["id"]]
    assert ids("/api/trucks?county_code=445122") == [light["id"]]
    assert ids(f"/api/trucks?operator_id={operator['id']}") == [heavy["id"]]
    assert ids("/api/trucks?vehicle_type=trailer") == [light["id"]]
    assert ids("/api/trucks?q=c2184") == [heavy["id"]]  # part of the VIN, any case
    assert ids("/api/trucks?q=1234挂") == [light["id"]]
    assert ids("/api/operators?q=饶平") == [other["id"]]
    assert ids(f"/api/operators?q={CREDIT[:10]}") == [operator["id"]]
    assert len(ids("/api/policies?in_force_on=2024-06-01")) == 1
    assert len(ids("/api/policies?kind=compulsory")) == 1
    assert len(ids("/api/policies?q=粤U23456")) == 1
    assert len(ids(f"/api/policies?truck_id={light['id']}")) == 1
    page = ops.get("/api/trucks?page=2&page_size=1").json
    assert page["total"] == 2 and page["pages"] == 2 and len(page["items"]) == 1


def test_eligibility_endpoint_lists_reasons(ops, truck):
    resp = ops.get(f"/api/trucks/{truck['id']}/eligibility?on=2024-06-01")
    assert resp.json == {"truck_id": truck["id"], "on": "2024-06-01", "eligible": False,
                         "reasons": [{"code": "no_policy_in_force", "message": "No policy of ours is in force on 2024-06-01."}]}
    new_policy(ops, truck["id"])
    resp = ops.get(f"/api/trucks/{truck['id']}/eligibility?on=2024-06-01")
    assert resp.json["eligible"] is True and resp.json["reasons"] == []


def test_vin_with_a_wrong_check_digit_is_refused_naming_the_field(ops):
    operator = new_operator(ops)
    resp = ops.post("/api/trucks", json={"plate": "粤U23456", "plate_colour": 2, "vin": "LSVAM4185C2184847", "vehicle_type": "goods_vehicle",
                                         "total_mass_kg": 18000, "county_code": "445103", "operator_id": operator["id"]})
    assert resp.status_code == 422
    assert resp.json["errors"] == {"vin": ["VIN check digit is 5, expected 7."]}


@pytest.mark.parametrize(
    "field, value",
    [("plate", "粤U2345"), ("plate", "AB12345"), ("plate_colour", 7), ("vehicle_type", "bus"), ("total_mass_kg", 0), ("county_code", "4451")],
)
def test_bad_truck_fields_are_422_with_the_field(ops, field, value):
    operator = new_operator(ops)
    body = {"plate": "粤U23456", "plate_colour": 2, "vin": VIN, "vehicle_type": "goods_vehicle", "total_mass_kg": 18000,
            "county_code": "445103", "operator_id": operator["id"], field: value}
    resp = ops.post("/api/trucks", json=body)
    assert resp.status_code == 422
    assert list(resp.json["errors"]) == [field]


def test_bad_credit_code_is_422_with_the_field(ops):
    resp = ops.post("/api/operators", json={"name": "x", "credit_code": CREDIT[:17] + ("0" if CREDIT[17] != "0" else "1"), "county_code": "445102"})
    assert resp.status_code == 422
    assert "credit_code" in resp.json["errors"]
    assert "Check character" in resp.json["errors"]["credit_code"][0]


def test_patch_with_a_bad_plate_is_422_and_changes_nothing(ops, truck):
    resp = ops.patch(f"/api/trucks/{truck['id']}", json={"plate": "粤UO1234"})
    assert resp.status_code == 422 and list(resp.json["errors"]) == ["plate"]
    assert ops.get(f"/api/trucks/{truck['id']}").json["plate"] == "粤U23456"


def test_duplicates_are_409_naming_the_field(ops, truck):
    resp = ops.post("/api/operators", json={"name": "again", "credit_code": CREDIT, "county_code": "445102"})
    assert resp.status_code == 409 and "credit_code" in resp.json["errors"]
    body = {"plate": "粤U23456", "plate_colour": 2, "vin": OTHER_VIN, "vehicle_type": "goods_vehicle", "total_mass_kg": 18000,
            "county_code": "445103", "operator_id": truck["operator"]["id"]}
    resp = ops.post("/api/trucks", json=body)
    assert resp.status_code == 409 and "plate" in resp.json["errors"]
    resp = ops.post("/api/trucks", json={**body, "plate": "粤U65432", "vin": VIN})
    assert resp.status_code == 409 and "vin" in resp.json["errors"]
    new_policy(ops, truck["id"])
    resp = ops.post("/api/policies", json={"number": "PDAA202444510300000001", "truck_id": truck["id"], "kind": "compulsory",
                                           "start_date": "2024-03-01", "end_date": "2025-02-28", "premium": "4032.00",
                                           "benchmark_premium": "4480.00", "ncd_coefficient": "0.9"})
    assert resp.status_code == 409 and "number" in resp.json["errors"]


def test_policy_rules_are_422_with_the_field(ops, truck):
    base = {"number": "P1", "truck_id": truck["id"], "kind": "commercial", "start_date": "2024-03-01", "end_date": "2025-02-28",
            "premium": "9180.00", "benchmark_premium": "10800.00", "ncd_coefficient": "0.85", "autonomous_coefficient": "1.0"}
    cases = [
        ({"end_date": "2024-03-01"}, "end_date"),
        ({"premium": "-1.00"}, "premium"),
        ({"premium": "abc"}, "premium"),
        ({"ncd_coefficient": "0"}, "ncd_coefficient"),
        ({"kind": "life"}, "kind"),
        ({"autonomous_coefficient": None}, "autonomous_coefficient"),
        ({"truck_id": 999999}, "truck_id"),
    ]
    for change, field in cases:
        resp = ops.post("/api/policies", json={**base, **change})
        assert resp.status_code == 422, (change, resp.json)
        assert field in resp.json["errors"], (change, resp.json)
    policy = new_policy(ops, truck["id"])
    resp = ops.patch(f"/api/policies/{policy['id']}", json={"end_date": "2024-02-01"})
    assert resp.status_code == 422 and list(resp.json["errors"]) == ["end_date"]


def test_truck_for_a_missing_operator_is_422(ops):
    resp = ops.post("/api/trucks", json={"plate": "粤U23456", "plate_colour": 2, "vin": VIN, "vehicle_type": "goods_vehicle",
                                         "total_mass_kg": 18000, "county_code": "445103", "operator_id": 4242})
    assert resp.status_code == 422 and list(resp.json["errors"]) == ["operator_id"]


def test_unknown_ids_are_404(ops):
    for url in ("/api/operators/999", "/api/trucks/999", "/api/policies/999", "/api/trucks/999/eligibility"):
        assert ops.get(url).status_code == 404, url


def test_an_unchanged_patch_records_nothing(app, ops, truck):
    with app.app_context():
        from insurer_dms.extensions import db

        before = db.session.query(Activity).count()
    ops.patch(f"/api/trucks/{truck['id']}", json={"plate": "粤U23456", "total_mass_kg": 25000})
    with app.app_context():
        assert db.session.query(Activity).count() == before


ENDPOINTS = [
    ("GET", "/api/operators"), ("POST", "/api/operators"), ("GET", "/api/operators/1"), ("PATCH", "/api/operators/1"),
    ("GET", "/api/trucks"), ("POST", "/api/trucks"), ("GET", "/api/trucks/1"), ("PATCH", "/api/trucks/1"),
    ("GET", "/api/trucks/1/eligibility"), ("GET", "/api/policies"), ("POST", "/api/policies"), ("GET", "/api/policies/1"),
    ("PATCH", "/api/policies/1"), ("POST", "/api/policies/import"),
]


@pytest.mark.parametrize("method, url", ENDPOINTS)
def test_anonymous_callers_get_401(anon, method, url):
    resp = anon.open(url, method=method, json={})
    assert resp.status_code == 401 and resp.json["code"] == 401


@pytest.mark.parametrize("role", ["contractor", "reviewer"])
@pytest.mark.parametrize("method, url", ENDPOINTS)
def test_contractors_and_reviewers_get_403(request, role, method, url):
    client = request.getfixturevalue(role)
    resp = client.open(method, url, json={"name": "x"})
    assert resp.status_code == 403


def test_every_fleet_endpoint_is_documented(ops):
    paths = ops.get("/api/openapi.json").json["paths"]
    for method, url in ENDPOINTS:
        path = url.replace("/1", "/{%s}" % {"operators": "operator_id", "trucks": "truck_id", "policies": "policy_id"}[url.split("/")[2]])
        assert method.lower() in paths[path], (method, path)
