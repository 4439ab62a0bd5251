"""Opening installation work orders, one at a time or for a whole county; every refusal reason."""
import datetime as dt

import pytest
from sqlalchemy import select

from insurer_dms.activity import history
from insurer_dms.errors import Invalid
from insurer_dms.extensions import db
from insurer_dms.fleet import service as fleet
from insurer_dms.installs import service
from insurer_dms.installs.models import WorkOrder
from tests import install_factories as f

DAY = dt.date(2024, 6, 1)


def refusal_codes(truck, on=DAY):
    with pytest.raises(Invalid) as caught:
        service.create_order(truck.id, on=on)
    return caught.value


# ---- single orders -------------------------------------------------------------------------------------


def test_an_insured_heavy_truck_gets_an_open_order_with_a_readable_number(ctx):
    truck = f.insured_truck()
    order = service.create_order(truck.id, on=DAY)
    assert order.state == "open" and order.kind == "install" and order.truck_id == truck.id
    assert order.number.startswith("WO") and order.number.endswith(f"{order.id:06d}")
    assert [a.action for a in history("work_order", order.id)] == ["create"]


def test_a_light_truck_is_refused_as_not_heavy(ctx):
    err = refusal_codes(f.insured_truck(heavy=False))
    assert "not_heavy" in err.message and "truck_id" in err.errors


def test_a_truck_without_our_policy_in_force_is_refused(ctx):
    err = refusal_codes(f.insured_truck(policy=False))
    assert "no_policy_in_force" in err.message
    lapsed = f.insured_truck(policy_start=dt.date(2023, 1, 1), policy_end=dt.date(2023, 12, 31))
    assert "no_policy_in_force" in refusal_codes(lapsed).message


def test_a_truck_with_a_device_installed_is_refused(ctx):
    order = f.installed_order()
    err = refusal_codes(order.truck)
    assert "device_installed" in err.message and "order_open" not in err.message


def test_a_truck_with_an_open_order_is_refused(ctx):
    truck = f.insured_truck()
    first = service.create_order(truck.id, on=DAY)
    err = refusal_codes(truck)
    assert "order_open" in err.message and first.number in " ".join(err.errors["truck_id"])


def test_every_reason_is_given_at_once(ctx):
    truck = f.insured_truck(heavy=False, policy=False)
    err = refusal_codes(truck)
    assert "not_heavy" in err.message and "no_policy_in_force" in err.message
    assert len(err.errors["truck_id"]) == 2


def test_fleet_eligibility_reports_the_installs_reasons_too(ctx):
    truck = f.insured_truck()
    service.create_order(truck.id, on=DAY)
    assert [r["code"] for r in fleet.eligibility(truck, DAY)] == ["order_open"]
    installed = f.installed_order().truck
    assert [r["code"] for r in fleet.eligibility(installed, DAY)] == ["device_installed"]


def test_a_cancelled_order_does_not_block_a_new_one(ctx):
    truck = f.insured_truck()
    first = service.create_order(truck.id, on=DAY)
    service.cancel(first.id, "driver unreachable")
    assert service.create_order(truck.id, on=DAY).id != first.id


def test_removal_and_swap_orders_need_a_device_on_the_truck_and_a_reason(ctx):
    truck = f.insured_truck()
    with pytest.raises(Invalid) as caught:
        service.create_order(truck.id, kind="removal", reason="truck_sold")
    assert "no_device_installed" in caught.value.message
    installed = f.installed_order()
    with pytest.raises(Invalid) as caught:
        service.create_order(installed.truck_id, kind="removal")
    assert "reason" in caught.value.errors
    removal = service.create_order(installed.truck_id, kind="removal", reason="policy_lapsed")
    assert removal.kind == "removal" and removal.reason == "policy_lapsed"


def test_the_database_refuses_a_second_active_order_for_a_truck(ctx):
    from sqlalchemy.exc import IntegrityError

    truck = f.insured_truck()
    service.create_order(truck.id, on=DAY)
    db.session.add(WorkOrder(number="WO-DIRECT", kind="install", state="assigned", truck_id=truck.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


# ---- bulk ----------------------------------------------------------------------------------------------


def test_bulk_creates_orders_for_every_eligible_truck_and_reports_each_refusal(ctx):
    eligible = [f.insured_truck() for _ in range(3)]
    light = f.insured_truck(heavy=False)
    uninsured = f.insured_truck(policy=False)
    with_device = f.installed_order().truck
    with_order = f.insured_truck()
    service.create_order(with_order.id, on=DAY)
    elsewhere = f.insured_truck(county="445122")

    result = service.bulk_create("445102", on=DAY)

    orders = db.session.scalars(select(WorkOrder).where(WorkOrder.id.in_(result["created"]))).all()
    assert sorted(o.truck_id for o in orders) == sorted(t.id for t in eligible)
    assert all(o.state == "open" and o.number.startswith("WO") for o in orders)
    refused = {r["truck_id"]: r["reasons"] for r in result["refused"]}
    assert refused == {
        light.id: ["not_heavy"],
        uninsured.id: ["no_policy_in_force"],
        with_device.id: ["device_installed"],
        with_order.id: ["order_open"],
    }
    assert elsewhere.id not in refused and {r["plate"] for r in result["refused"]} >= {light.plate}
    assert all(history("work_order", o.id)[0].action == "create" for o in orders)


def test_bulk_twice_creates_nothing_the_second_time(ctx):
    f.insured_truck()
    assert len(service.bulk_create("445102", on=DAY)["created"]) == 1
    again = service.bulk_create("445102", on=DAY)
    assert again["created"] == [] and again["refused"][0]["reasons"] == ["order_open"]


def test_bulk_checks_the_policy_on_the_given_day(ctx):
    truck = f.insured_truck(policy_start=dt.date(2024, 1, 1), policy_end=dt.date(2024, 12, 31))
    assert service.bulk_create("445102", on=dt.date(2025, 3, 1))["refused"] == [
        {"truck_id": truck.id, "plate": truck.plate, "reasons": ["no_policy_in_force"]}
    ]
    assert len(service.bulk_create("445102", on=DAY)["created"]) == 1


# ---- API -----------------------------------------------------------------------------------------------


def test_ops_creates_an_order_through_the_api(app, ops):
    with app.app_context():
        truck_id = f.insured_truck().id
    resp = ops.post("/api/work-orders", json={"truck_id": truck_id, "on": "2024-06-01"})
    assert resp.status_code == 201, resp.json
    assert resp.json["state"] == "open" and resp.json["truck"]["id"] == truck_id
    again = ops.post("/api/work-orders", json={"truck_id": truck_id})
    assert again.status_code == 422 and "order_open" in again.json["message"] and "truck_id" in again.json["errors"]


def test_api_refuses_unknown_trucks_and_bad_kinds_with_the_field(ops):
    assert ops.post("/api/work-orders", json={"truck_id": 999}).json["errors"] == {"truck_id": ["No truck with id 999."]}
    assert "kind" in ops.post("/api/work-orders", json={"truck_id": 1, "kind": "paint"}).json["errors"]
    assert "truck_id" in ops.post("/api/work-orders", json={}).json["errors"]


def test_bulk_through_the_api(app, ops):
    with app.app_context():
        ok = f.insured_truck().id
        light = f.insured_truck(heavy=False).id
    resp = ops.post("/api/work-orders/bulk", json={"county_code": "445102", "on": "2024-06-01"})
    assert resp.status_code == 201, resp.json
    assert len(resp.json["created"]) == 1
    assert resp.json["refused"] == [{"truck_id": light, "plate": resp.json["refused"][0]["plate"], "reasons": ["not_heavy"]}]
    assert ok not in [r["truck_id"] for r in resp.json["refused"]]
    assert "county_code" in ops.post("/api/work-orders/bulk", json={"county_code": "12"}).json["errors"]


@pytest.mark.parametrize("url, body", [("/api/work-orders", {"truck_id": 1}), ("/api/work-orders/bulk", {"county_code": "445102"})])
def test_only_ops_create_orders(contractor, reviewer, anon, url, body):
    assert contractor.post(url, json=body).status_code == 403
    assert reviewer.post(url, json=body).status_code == 403
    assert anon.post(url, json=body).status_code == 401
