"""The SIM registry by API: registration checks, filters, plan and status changes with dates, history with trucks."""
import datetime as dt

import pytest

from insurer_dms.luhn import check_digit
from tests.install_factories import bad_iccid, installed_directly
from tests.sim_factories import iccid, make_plan, msisdn, plan_payload, sim_payload


@pytest.fixture
def plan_id(ops):
    return ops.post("/api/data-plans", json=plan_payload()).json["id"]


def test_ops_registers_a_sim_in_stock_and_the_carrier_follows_the_iccid(ops, plan_id):
    resp = ops.post("/api/sims", json=sim_payload(1, plan_id=plan_id))
    assert resp.status_code == 201, resp.json
    sim = resp.json
    assert (sim["carrier"], sim["status"], sim["plan"]["code"]) == ("china_mobile", "in_stock", "CM-IOT-1G")
    assert sim["activated_on"] is None
    unicom = ops.post("/api/sims", json=sim_payload(2, iccid=iccid(2, prefix="898601"))).json
    assert unicom["carrier"] == "china_unicom" and unicom["plan"] is None


def test_a_19_digit_iccid_is_accepted(ops):
    body = "898604" + "2" * 12
    assert ops.post("/api/sims", json=sim_payload(1, iccid=body + check_digit(body))).status_code == 201


@pytest.mark.parametrize(
    "overrides, field, words",
    [
        ({"iccid": "8986001234"}, "iccid", "19 or 20 digits"),
        ({"iccid": "89860012345678901234X"}, "iccid", "19 or 20 digits"),
        ({"iccid": "8916" + "0" * 15 + "5"}, "iccid", "8986"),
        ({"iccid": bad_iccid(7)}, "iccid", "Luhn"),
        ({"iccid": 89860000000000000070}, "iccid", "string"),
        ({"msisdn": "1440-12345"}, "msisdn", "digits"),
        ({"msisdn": "144012345678901"}, "msisdn", "digits"),
        ({"carrier": "china_unicom"}, "carrier", "China Mobile"),
        ({"carrier": "mars"}, "carrier", ""),
        ({"status": "lost"}, "status", ""),
        ({"status": "active"}, "activated_on", "needed"),
        ({"activated_on": "2024-01-01"}, "activated_on", "in stock"),
        ({"status": "retired", "activated_on": "2024-02-01", "deactivated_on": "2024-01-01"}, "deactivated_on", "on or after"),
        ({"plan_id": 999}, "plan_id", "does not exist"),
        ({"plan_id": "one"}, "plan_id", ""),
    ],
)
def test_a_bad_sim_is_refused_naming_the_field(ops, overrides, field, words):
    resp = ops.post("/api/sims", json=sim_payload(1, **overrides))
    assert resp.status_code == 422, resp.json
    assert field in resp.json["errors"], resp.json
    assert words in " ".join(resp.json["errors"][field])
    assert ops.get("/api/sims").json["total"] == 0


def test_a_plan_of_another_carrier_is_refused(ops):
    unicom = ops.post("/api/data-plans", json=plan_payload(carrier="china_unicom", code="CU-1G")).json
    resp = ops.post("/api/sims", json=sim_payload(1, plan_id=unicom["id"]))
    assert resp.status_code == 422 and "China Unicom" in resp.json["errors"]["plan_id"][0]


def test_an_iccid_or_number_registered_twice_is_a_conflict(ops):
    assert ops.post("/api/sims", json=sim_payload(1)).status_code == 201
    resp = ops.post("/api/sims", json=sim_payload(1))
    assert resp.status_code == 409 and "iccid" in resp.json["errors"]
    resp = ops.post("/api/sims", json=sim_payload(2, msisdn=msisdn(1)))
    assert resp.status_code == 409 and "msisdn" in resp.json["errors"]


def test_list_filters_by_carrier_status_plan_and_search(ops, plan_id):
    ops.post("/api/sims", json=sim_payload(1, plan_id=plan_id))
    ops.post("/api/sims", json=sim_payload(2, status="active", activated_on="2024-05-01"))
    ops.post("/api/sims", json=sim_payload(3, iccid=iccid(3, prefix="898603")))
    assert ops.get("/api/sims").json["total"] == 3
    assert [s["msisdn"] for s in ops.get("/api/sims?carrier=china_telecom").json["items"]] == [msisdn(3)]
    assert [s["msisdn"] for s in ops.get("/api/sims?status=active").json["items"]] == [msisdn(2)]
    assert [s["msisdn"] for s in ops.get(f"/api/sims?plan={plan_id}").json["items"]] == [msisdn(1)]
    assert [s["msisdn"] for s in ops.get(f"/api/sims?q={msisdn(2)[-6:]}").json["items"]] == [msisdn(2)]
    assert [s["iccid"] for s in ops.get(f"/api/sims?q={iccid(1)[-8:]}").json["items"]] == [iccid(1)]
    page = ops.get("/api/sims?page_size=2&page=2").json
    assert page["pages"] == 2 and len(page["items"]) == 1
    for bad in ("status=lost", "carrier=x", "plan=abc", "page=0"):
        resp = ops.get(f"/api/sims?{bad}")
        assert resp.status_code == 422 and bad.split("=")[0] in resp.json["errors"]


def test_get_unknown_sim_is_404(ops):
    assert ops.get("/api/sims/999").status_code == 404
    assert ops.patch("/api/sims/999", json={"status": "active"}).status_code == 404


# ---- changes -----------------------------------------------------------------------------------------


def test_the_plan_changes_within_the_carrier_only(ops, plan_id):
    sim = ops.post("/api/sims", json=sim_payload(1)).json
    resp = ops.patch(f"/api/sims/{sim['id']}", json={"plan_id": plan_id})
    assert resp.status_code == 200 and resp.json["plan"]["id"] == plan_id
    assert resp.json["history"][-1]["action"] == "update" and resp.json["history"][-1]["after"] == {"plan_id": plan_id}
    unicom = ops.post("/api/data-plans", json=plan_payload(carrier="china_unicom", code="CU-1G")).json
    resp = ops.patch(f"/api/sims/{sim['id']}", json={"plan_id": unicom["id"]})
    assert resp.status_code == 422 and "plan_id" in resp.json["errors"]
    assert ops.patch(f"/api/sims/{sim['id']}", json={"plan_id": 999}).status_code == 422
    assert ops.patch(f"/api/sims/{sim['id']}", json={"plan_id": None}).json["plan"] is None


def test_a_sim_goes_active_suspended_active_retired_with_its_dates(ops):
    sim_id = ops.post("/api/sims", json=sim_payload(1)).json["id"]
    url = f"/api/sims/{sim_id}"
    sim = ops.patch(url, json={"status": "active", "activated_on": "2024-05-01"}).json
    assert (sim["status"], sim["activated_on"], sim["deactivated_on"]) == ("active", "2024-05-01", None)
    sim = ops.patch(url, json={"status": "suspended", "deactivated_on": "2024-08-15", "note": "truck sold"}).json
    assert (sim["status"], sim["activated_on"], sim["deactivated_on"]) == ("suspended", "2024-05-01", "2024-08-15")
    sim = ops.patch(url, json={"status": "active", "activated_on": "2024-09-01"}).json
    assert (sim["status"], sim["activated_on"], sim["deactivated_on"]) == ("active", "2024-09-01", None)
    sim = ops.patch(url, json={"status": "retired", "deactivated_on": "2025-01-31"}).json
    assert (sim["status"], sim["deactivated_on"]) == ("retired", "2025-01-31")
    actions = [h["action"] for h in sim["history"]]
    assert actions == ["create", "state:in_stock->active", "state:active->suspended", "state:suspended->active",
                       "state:active->retired"]
    suspended = sim["history"][2]
    assert suspended["after"] == {"status": "suspended", "deactivated_on": "2024-08-15"} and suspended["note"] == "truck sold"


def test_a_suspended_sim_can_be_retired_keeping_its_deactivation_date(ops):
    sim_id = ops.post("/api/sims", json=sim_payload(1, status="active", activated_on="2024-05-01")).json["id"]
    ops.patch(f"/api/sims/{sim_id}", json={"status": "suspended", "deactivated_on": "2024-06-30"})
    sim = ops.patch(f"/api/sims/{sim_id}", json={"status": "retired"}).json
    assert (sim["status"], sim["deactivated_on"]) == ("retired", "2024-06-30")


@pytest.mark.parametrize(
    "start, body",
    [
        ("in_stock", {"status": "suspended", "deactivated_on": "2024-06-01"}),
        ("in_stock", {"status": "retired", "deactivated_on": "2024-06-01"}),
        ("retired", {"status": "active", "activated_on": "2024-06-01"}),
        ("retired", {"status": "in_stock"}),
        ("active", {"status": "in_stock"}),
    ],
)
def test_an_illegal_status_change_is_a_conflict_naming_both_states(ops, start, body):
    payload = {"in_stock": {}, "active": {"status": "active", "activated_on": "2024-05-01"},
               "retired": {"status": "retired", "activated_on": "2024-05-01", "deactivated_on": "2024-05-31"}}[start]
    sim = ops.post("/api/sims", json=sim_payload(1, **payload)).json
    resp = ops.patch(f"/api/sims/{sim['id']}", json=body)
    assert resp.status_code == 409
    assert f"from {start} to {body['status']}" in resp.json["message"] and "status" in resp.json["errors"]
    assert ops.get(f"/api/sims/{sim['id']}").json["status"] == start


@pytest.mark.parametrize(
    "body, field",
    [
        ({"status": "active"}, "activated_on"),
        ({"status": "active", "activated_on": "later"}, "activated_on"),
        ({"status": "active", "activated_on": "2024-05-01", "deactivated_on": "2024-06-01"}, "deactivated_on"),
        ({"status": "wandering"}, "status"),
        ({"plan_id": 1.5}, "plan_id"),
    ],
)
def test_bad_activation_input_is_refused_naming_the_field(ops, body, field):
    sim = ops.post("/api/sims", json=sim_payload(1)).json
    resp = ops.patch(f"/api/sims/{sim['id']}", json=body)
    assert resp.status_code == 422 and field in resp.json["errors"]
    assert ops.get(f"/api/sims/{sim['id']}").json["status"] == "in_stock"


@pytest.mark.parametrize("body", [{"status": "suspended"}, {"status": "retired", "deactivated_on": "2024-04-30"},
                                  {"deactivated_on": "2024-04-30"}])
def test_deactivation_needs_a_date_on_or_after_activation(ops, body):
    sim = ops.post("/api/sims", json=sim_payload(1, status="active", activated_on="2024-05-01")).json
    resp = ops.patch(f"/api/sims/{sim['id']}", json=body)
    assert resp.status_code == 422 and "deactivated_on" in resp.json["errors"]
    assert ops.get(f"/api/sims/{sim['id']}").json["status"] == "active"


def test_the_activation_date_of_an_active_sim_can_be_corrected(ops):
    sim = ops.post("/api/sims", json=sim_payload(1, status="active", activated_on="2024-05-01")).json
    resp = ops.patch(f"/api/sims/{sim['id']}", json={"activated_on": "2024-04-28"})
    assert resp.status_code == 200 and resp.json["activated_on"] == "2024-04-28"
    assert resp.json["history"][-1]["before"] == {"activated_on": "2024-05-01"}


def test_history_shows_the_device_and_the_truck_it_was_on(ops, app):
    from insurer_dms.extensions import db
    from insurer_dms.sims.models import Sim

    with app.app_context():
        order = installed_directly()
        sim_id, serial, plate = order.sim_id, order.device.serial, order.truck.plate
        db.session.get(Sim, sim_id).plan_id = make_plan().id
        db.session.commit()
    sim = ops.get(f"/api/sims/{sim_id}").json
    assert sim["status"] == "active" and sim["plan"]["code"] == "CM-IOT-1G"
    [assignment] = sim["assignments"]
    assert assignment["device_serial"] == serial and assignment["ended_at"] is None
    assert [t["plate"] for t in assignment["trucks"]] == [plate]
    assert assignment["trucks"][0]["removed_at"] is None


def test_a_sim_never_in_a_device_has_an_empty_history_of_devices(ops):
    sim = ops.post("/api/sims", json=sim_payload(1)).json
    detail = ops.get(f"/api/sims/{sim['id']}").json
    assert detail["assignments"] == [] and [h["action"] for h in detail["history"]] == ["create"]


# ---- who may ----------------------------------------------------------------------------------------------

ENDPOINTS = [("get", "/api/sims"), ("post", "/api/sims"), ("get", "/api/sims/{id}"), ("patch", "/api/sims/{id}"),
             ("post", "/api/sims/import")]


@pytest.mark.parametrize("method, url", ENDPOINTS)
def test_sim_endpoints_are_for_operations_staff_only(ops, anon, contractor, reviewer, method, url):
    sim = ops.post("/api/sims", json=sim_payload(1)).json
    url = url.format(id=sim["id"])
    body = {"status": "active", "activated_on": dt.date(2024, 5, 1).isoformat(), **sim_payload(2)}
    assert getattr(anon, method)(url, json=body).status_code == 401
    for client in (contractor, reviewer):
        assert getattr(client, method)(url, json=body).status_code == 403
    assert ops.get("/api/sims").json["total"] == 1
    assert ops.get(f"/api/sims/{sim['id']}").json["status"] == "in_stock"
