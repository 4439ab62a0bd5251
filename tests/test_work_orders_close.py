"""Closing work orders: install in one transaction, refusals, idempotent re-close, removal, swap, DB guards."""
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from insurer_dms.activity import history
from insurer_dms.errors import Conflict, Invalid
from insurer_dms.extensions import db
from insurer_dms.installs import service
from insurer_dms.installs.models import Installation, WorkOrder
from insurer_dms.inventory.models import Device
from insurer_dms.ledger.models import LedgerEntry
from insurer_dms.ledger.service import entries_for
from insurer_dms.sims.models import Sim, SimAssignment
from tests import install_factories as f


def ready_order(company="Alpha Installations", truck=None, photos=True):
    order = f.scheduled_order(company, truck)
    if photos:
        f.with_photos(order)
    return order


def counts():
    return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Installation, Sim, SimAssignment, LedgerEntry)}


# ---- the happy path --------------------------------------------------------------------------------------


def test_closing_installs_the_device_activates_the_sim_and_pays_the_fee(ctx):
    alpha = f.company("Alpha Installations", fee="280.00")
    order = ready_order()
    device = f.stock_device()
    data = f.close_data(device)

    closed = service.close_order(None, order.id, data)

    assert closed.state == "installed" and closed.installed_at == f.INSTALLED_AT and closed.device_id == device.id
    db.session.refresh(device)
    assert device.status == "installed"
    installation = db.session.scalar(select(Installation).where(Installation.device_id == device.id))
    assert installation.truck_id == order.truck_id and installation.removed_at is None and installation.work_order_id == order.id
    sim = closed.sim
    assert sim.iccid == data["iccid"] and sim.msisdn == data["msisdn"] and sim.carrier == "china_mobile"
    assert sim.status == "active" and sim.activated_on == dt.date(2024, 5, 20)
    assert [(a.device_id, a.ended_at) for a in sim.assignments] == [(device.id, None)]
    [entry] = entries_for("work_order", order.id)
    assert (entry.category, entry.amount, entry.period) == ("installation_fee", Decimal("280.00"), "2024-05")
    assert (entry.company_id, entry.truck_id, entry.device_id) == (alpha.id, order.truck_id, device.id)
    assert history("work_order", order.id)[-1].action == "state:scheduled->installed"
    assert history("device", device.id)[-1].action == "state:in_stock->installed"
    assert history("installation", installation.id)[0].action == "create"
    assert [a.action for a in history("sim", sim.id)] == ["create", "state:in_stock->active", "assign"]


def test_the_default_fee_applies_when_the_company_has_none(ctx):
    order = ready_order()
    service.close_order(None, order.id, f.close_data(f.stock_device()))
    assert entries_for("work_order", order.id)[0].amount == Decimal("300.00")


def test_closing_twice_with_the_same_device_is_harmless(ctx):
    order = ready_order()
    device = f.stock_device()
    data = f.close_data(device)
    service.close_order(None, order.id, data)
    before = counts()
    again = service.close_order(None, order.id, {**data, "iccid": f.iccid()})
    assert again.state == "installed" and again.device_id == device.id
    assert counts() == before


def test_closing_again_with_another_device_is_a_conflict(ctx):
    order = ready_order()
    service.close_order(None, order.id, f.close_data(f.stock_device()))
    with pytest.raises(Conflict) as caught:
        service.close_order(None, order.id, f.close_data(f.stock_device()))
    assert "device_serial" in caught.value.errors


def test_photos_taken_on_another_day_are_passed_to_evidence(ctx, monkeypatch):
    from insurer_dms.installs import evidence

    seen = []
    monkeypatch.setattr(evidence, "flag_other_day_photos", lambda order, day: seen.append((order.id, day)) or [])
    order = ready_order()
    service.close_order(None, order.id, f.close_data(f.stock_device(), installed_at=dt.datetime(2024, 5, 20, 23, 30, tzinfo=f.LOCAL_TZ)))
    assert seen == [(order.id, dt.date(2024, 5, 20))]  # the install day in Chaozhou, not in UTC


# ---- refusals --------------------------------------------------------------------------------------------


def refused(order, exc=Invalid, **changes):
    data = f.close_data(changes.pop("device", None) or f.stock_device())
    data.update(changes)
    before = counts()
    with pytest.raises(exc) as caught:
        service.close_order(None, order.id, data)
    db.session.rollback()
    assert counts() == before
    assert db.session.get(WorkOrder, order.id).state == "scheduled"
    return caught.value


def test_closing_without_the_photos_lists_the_missing_kinds(ctx):
    order = ready_order(photos=False)
    f.with_photos(order, kinds=["plate"])
    err = refused(order)
    assert err.errors["photos"] == ["Required photos missing: device_mounted, driver_camera."]


def test_a_bad_iccid_is_refused_with_the_field(ctx):
    err = refused(ready_order(), iccid=f.bad_iccid())
    assert "Luhn" in err.errors["iccid"][0]
    assert "carrier" in refused(ready_order(), carrier="china_telecom").errors
    assert "msisdn" in refused(ready_order(), msisdn="12").errors


def test_an_install_time_in_the_future_is_refused(ctx):
    err = refused(ready_order(), installed_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2))
    assert "installed_at" in err.errors


def test_an_unknown_device_is_refused_with_the_field(ctx):
    order = ready_order()
    data = f.close_data(f.stock_device(), device_serial="NOPE-1")
    with pytest.raises(Invalid) as caught:
        service.close_order(None, order.id, data)
    assert caught.value.errors["device_serial"] == ["No device with serial NOPE-1."]


@pytest.mark.parametrize("status", ["faulty", "reserved", "retired"])
def test_a_device_not_in_stock_is_refused(ctx, status):
    device = f.stock_device()
    device.status = status
    db.session.commit()
    err = refused(ready_order(), Conflict, device=device)
    assert err.errors["device_serial"] == [f"Device {device.serial} is {status}, not in stock."]


def test_a_device_installed_elsewhere_is_refused(ctx):
    first = f.installed_order()
    err = refused(ready_order(), Conflict, device=first.device)
    assert "installed, not in stock" in err.errors["device_serial"][0]


@pytest.mark.parametrize(
    "entry, words",
    [({"model_code": "OLD", "valid_to": dt.date(2023, 12, 31)}, "validity ended on 2023-12-31"),
     ({"model_code": "GONE", "withdrawn_on": dt.date(2024, 5, 1)}, "withdrawn from the catalogue on 2024-05-01"),
     ({"model_code": "NEW", "valid_from": dt.date(2024, 6, 1)}, "not valid before 2024-06-01")],
)
def test_a_device_whose_catalogue_entry_is_not_usable_on_the_install_day_is_refused(ctx, entry, words):
    valid_from = entry.pop("valid_from", dt.date(2021, 3, 1))
    catalogue_entry = f.catalogue_entry(valid_from=dt.date(2021, 3, 1), **entry)
    device = f.stock_device(catalogue_entry)  # bought while it was orderable
    catalogue_entry.valid_from = valid_from
    db.session.commit()
    err = refused(ready_order(), device=device)
    assert words in err.errors["device_serial"][0] and "2024-05-20" in err.errors["device_serial"][0]


def test_a_sim_still_in_another_device_is_refused(ctx):
    first = f.installed_order()
    err = refused(ready_order(), Conflict, iccid=first.sim.iccid, msisdn=first.sim.msisdn)
    assert "another device" in err.errors["iccid"][0]


def test_every_field_problem_is_reported_at_once(ctx):
    order = ready_order(photos=False)
    err = refused(order, iccid="123", installed_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1), device_serial="NOPE")
    assert set(err.errors) >= {"photos", "iccid", "installed_at", "device_serial"}


def test_a_removal_order_is_not_closed_as_an_install(ctx):
    installed = f.installed_order()
    removal = f.scheduled_order(truck=installed.truck, kind="removal", reason="truck_sold")
    with pytest.raises(Conflict):
        service.close_order(None, removal.id, f.close_data(f.stock_device()))


# ---- the database guards the invariants ------------------------------------------------------------------


def test_the_database_refuses_a_second_current_device_on_a_truck(ctx):
    order = f.installed_order()
    other = f.stock_device()
    db.session.add(Installation(device_id=other.id, truck_id=order.truck_id, work_order_id=order.id, installed_at=f.INSTALLED_AT))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_database_refuses_a_device_on_two_trucks(ctx):
    order = f.installed_order()
    truck = f.insured_truck()
    db.session.add(Installation(device_id=order.device_id, truck_id=truck.id, work_order_id=order.id, installed_at=f.INSTALLED_AT))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_removed_installations_do_not_count(ctx):
    order = f.installed_order()
    current = db.session.scalar(select(Installation).where(Installation.truck_id == order.truck_id))
    current.removed_at = f.INSTALLED_AT + dt.timedelta(days=30)
    db.session.add(Installation(device_id=order.device_id, truck_id=order.truck_id, work_order_id=order.id,
                                installed_at=f.INSTALLED_AT + dt.timedelta(days=31)))
    db.session.commit()


# ---- removal and swap ------------------------------------------------------------------------------------


@pytest.mark.parametrize("disposition", ["in_stock", "retired"])
def test_removal_takes_the_device_off_and_suspends_the_sim(ctx, disposition):
    installed = f.installed_order()
    device_id, sim_id = installed.device_id, installed.sim_id
    removal = f.scheduled_order(truck=installed.truck, kind="removal", reason="policy_lapsed")
    at = f.INSTALLED_AT + dt.timedelta(days=200)

    done = service.close_removal(None, removal.id, disposition, removed_at=at)

    assert done.state == "completed" and done.old_device_id == device_id
    assert db.session.get(Device, device_id).status == disposition
    installation = db.session.scalar(select(Installation).where(Installation.device_id == device_id))
    assert installation.removed_at == at and installation.removal_order_id == removal.id
    sim = db.session.get(Sim, sim_id)
    assert sim.status == "suspended" and sim.deactivated_on == at.date()
    assert all(a.ended_at == at for a in sim.assignments)
    assert history("work_order", removal.id)[-1].action == "state:scheduled->completed"
    assert history("device", device_id)[-1].action == f"state:installed->{disposition}"
    # the truck may get a new device again, and closing the removal twice is harmless
    assert service.close_removal(None, removal.id, disposition).state == "completed"
    assert service.current_installation(truck_id=installed.truck_id) is None


def test_removal_refusals(ctx):
    installed = f.installed_order()
    removal = f.assigned_order(truck=installed.truck, kind="removal", reason="truck_sold")
    with pytest.raises(Invalid):
        service.close_removal(None, removal.id, "lost")
    with pytest.raises(Conflict) as caught:
        service.close_removal(None, removal.id, "in_stock")  # not scheduled yet
    assert caught.value.message == "A work order cannot go from assigned to completed."
    with pytest.raises(Conflict):
        service.close_removal(None, f.scheduled_order().id, "in_stock")  # an install order


def test_swap_puts_the_old_device_to_faulty_and_moves_the_sim(ctx):
    installed = f.installed_order()
    old_id, sim_id = installed.device_id, installed.sim_id
    swap = f.scheduled_order(truck=installed.truck, kind="swap", reason="device_faulty")
    f.with_photos(swap)
    new = f.stock_device()
    at = f.INSTALLED_AT + dt.timedelta(days=40)

    done = service.close_order(None, swap.id, f.close_data(new, installed_at=at, iccid=installed.sim.iccid, msisdn=installed.sim.msisdn))

    assert done.state == "installed" and done.device_id == new.id and done.old_device_id == old_id and done.sim_id == sim_id
    assert db.session.get(Device, old_id).status == "faulty"
    assert db.session.get(Device, new.id).status == "installed"
    rows = db.session.scalars(select(Installation).where(Installation.truck_id == installed.truck_id).order_by(Installation.id)).all()
    assert [(r.device_id, r.removed_at, r.removal_order_id) for r in rows] == [(old_id, at, swap.id), (new.id, None, None)]
    sim = db.session.get(Sim, sim_id)
    assert sim.status == "active"
    assert [(a.device_id, a.ended_at) for a in sim.assignments] == [(old_id, at), (new.id, None)]
    assert len(entries_for("work_order", swap.id)) == 1


def test_swap_with_a_new_sim_suspends_the_old_one(ctx):
    installed = f.installed_order()
    old_sim_id = installed.sim_id
    swap = f.scheduled_order(truck=installed.truck, kind="swap", reason="device_faulty")
    f.with_photos(swap)
    done = service.close_order(None, swap.id, f.close_data(f.stock_device(), installed_at=f.INSTALLED_AT + dt.timedelta(days=3)))
    assert done.sim_id != old_sim_id and done.sim.status == "active"
    assert db.session.get(Sim, old_sim_id).status == "suspended"


# ---- through the API -------------------------------------------------------------------------------------


def test_the_contractor_closes_its_order_through_the_api(app, contractor, ops):
    with app.app_context():
        order_id = ready_order().id
        serial = f.stock_device().serial
    body = {"device_serial": serial, "iccid": f.iccid(), "msisdn": f.msisdn(), "carrier": "china_mobile",
            "installed_at": "2024-05-20T10:30:00"}
    resp = contractor.post(f"/api/work-orders/{order_id}/close", json=body)
    assert resp.status_code == 200, resp.json
    assert resp.json["state"] == "installed" and resp.json["device"]["serial"] == serial
    assert resp.json["sim"]["iccid"] == body["iccid"] and resp.json["installed_at"].startswith("2024-05-20T02:30:00")
    assert contractor.post(f"/api/work-orders/{order_id}/close", json=body).status_code == 200
    detail = ops.get(f"/api/work-orders/{order_id}").json
    assert {p["kind"] for p in detail["photos"]} == {"device_mounted", "driver_camera", "plate"}


def test_close_api_refusals_name_the_field(app, contractor):
    with app.app_context():
        order_id = ready_order().id
        serial = f.stock_device().serial
    body = {"device_serial": serial, "iccid": f.bad_iccid(), "msisdn": f.msisdn(), "installed_at": "2024-05-20T10:30:00+08:00"}
    resp = contractor.post(f"/api/work-orders/{order_id}/close", json=body)
    assert resp.status_code == 422 and "iccid" in resp.json["errors"]
    resp = contractor.post(f"/api/work-orders/{order_id}/close", json={**body, "iccid": f.iccid(), "installed_at": "yesterday"})
    assert resp.status_code == 422 and "installed_at" in resp.json["errors"]
    resp = contractor.post(f"/api/work-orders/{order_id}/close", json={"iccid": f.iccid()})
    assert resp.status_code == 422 and {"device_serial", "msisdn", "installed_at"} <= set(resp.json["errors"])


def test_removal_through_the_api(app, contractor):
    with app.app_context():
        installed = f.installed_order()
        removal_id = f.scheduled_order(truck=installed.truck, kind="removal", reason="truck_sold").id
    resp = contractor.post(f"/api/work-orders/{removal_id}/close-removal", json={"disposition": "in_stock", "removed_at": "2024-09-01T10:00:00"})
    assert resp.status_code == 200, resp.json
    assert resp.json["state"] == "completed" and resp.json["old_device"]["status"] == "in_stock"
    assert "disposition" in contractor.post(f"/api/work-orders/{removal_id}/close-removal", json={"disposition": "bin"}).json["errors"]
