"""Resolving a ticket by replacing the device or the SIM: the inventory, installations, SIMs and ledger stay
consistent, a refusal saves nothing, and two technicians racing for one stock device get one winner (PostgreSQL)."""
import datetime as dt
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from insurer_dms.extensions import db
from insurer_dms.installs.models import Installation, WorkOrder
from insurer_dms.inventory.models import Device, DeviceEvent
from insurer_dms.ledger.models import LedgerEntry
from tests.ledger_factories import bought
from insurer_dms.maintenance import replacements
from insurer_dms.maintenance.models import Ticket, TicketCost
from insurer_dms.sims.models import Sim, SimAssignment
from tests import install_factories as f
from tests import ticket_factories as tf
from tests.conftest import RoleClient

LOCAL_TZ = f.LOCAL_TZ


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def current_installations(truck_id):
    return db.session.scalars(select(Installation).where(Installation.truck_id == truck_id, Installation.removed_at.is_(None))).all()


def open_assignment(device_id):
    return db.session.scalar(select(SimAssignment).where(SimAssignment.device_id == device_id, SimAssignment.ended_at.is_(None)))


@pytest.fixture
def working():
    """A camera-fault ticket in progress with Alpha (installation fee 450.00), its old device and SIM, a spare device."""
    ticket = tf.installed_truck_with_ticket("in_progress", category="camera_fault")
    f.company(tf.ALPHA, fee="450.00")
    old = ticket.device
    sim = open_assignment(old.id).sim
    [spare] = bought([(1, "2350.00")])  # received through a purchase order: its cost is in the ledger, on no truck
    return {"ticket": ticket, "old": old, "sim": sim, "spare": spare, "truck_id": ticket.truck_id}


def replace(client, ticket_id, serial, note="ADAS camera dead; whole unit swapped"):
    return client.post(f"/api/tickets/{ticket_id}/resolve",
                       json={"resolution": "device_replaced", "note": note, "device_serial": serial})


def assert_untouched(w):
    """The refused replacement left everything as it was."""
    db.session.expire_all()
    ticket = db.session.get(Ticket, w["ticket"].id)
    assert ticket.state == "in_progress" and ticket.resolution is None and ticket.new_device_id is None
    assert db.session.get(Device, w["old"].id).status == "installed"
    assert db.session.get(Device, w["spare"].id).status == "in_stock"
    assert [i.device_id for i in current_installations(w["truck_id"])] == [w["old"].id]
    assert open_assignment(w["old"].id).sim_id == w["sim"].id
    assert count(WorkOrder, WorkOrder.kind == "swap") == 0
    assert count(LedgerEntry, LedgerEntry.source_type == "ticket") == 0 and count(TicketCost) == 0


# ---- device replaced -----------------------------------------------------------------------------------


def test_device_replacement_leaves_the_inventory_consistent(ctx, contractor, working):
    w = working
    resp = replace(contractor, w["ticket"].id, w["spare"].serial)
    assert resp.status_code == 200, resp.json
    assert resp.json["state"] == "resolved" and resp.json["resolution"] == "device_replaced"
    assert resp.json["new_device"]["serial"] == w["spare"].serial
    db.session.expire_all()
    ticket = db.session.get(Ticket, w["ticket"].id)
    at = ticket.resolved_at

    # The old device: off the truck, faulty, then in repair.
    old = db.session.get(Device, w["old"].id)
    assert old.status == "in_repair"
    steps = db.session.execute(select(DeviceEvent.from_status, DeviceEvent.to_status).where(DeviceEvent.device_id == old.id)
                               .order_by(DeviceEvent.id)).all()[-2:]
    assert steps == [("installed", "faulty"), ("faulty", "in_repair")]
    # The new device is on the same truck, recorded by a swap work order of the ticket's company.
    assert db.session.get(Device, w["spare"].id).status == "installed"
    swap = db.session.scalar(select(WorkOrder).where(WorkOrder.kind == "swap"))
    assert (swap.state, swap.reason, swap.company.name) == ("installed", "device_faulty", tf.ALPHA)
    assert (swap.truck_id, swap.device_id, swap.old_device_id, swap.installed_at) == (w["truck_id"], w["spare"].id, old.id, at)
    removed = db.session.scalar(select(Installation).where(Installation.device_id == old.id))
    assert removed.removed_at == at and removed.removal_order_id == swap.id
    [current] = current_installations(w["truck_id"])
    assert (current.device_id, current.work_order_id, current.installed_at) == (w["spare"].id, swap.id, at)
    # The SIM moved with it and stays active.
    sim = db.session.get(Sim, w["sim"].id)
    assert sim.status == "active"
    assert [(a.device_id, a.ended_at) for a in sim.assignments] == [(old.id, at), (w["spare"].id, None)]
    assert swap.sim_id == sim.id
    # Fitting the replacement is paid as Alpha's installation fee (450.00), a labour line of the ticket in the ledger.
    [cost] = ticket.costs
    assert (cost.category, cost.amount) == ("maintenance_labour", Decimal("450.00"))
    [entry] = db.session.scalars(select(LedgerEntry).where(LedgerEntry.source_type == "ticket")).all()
    assert (entry.category, entry.amount, entry.source_type, entry.source_id) == ("maintenance_labour", Decimal("450.00"), "ticket", str(ticket.id))
    assert (entry.truck_id, entry.company_id, entry.period) == (w["truck_id"], ticket.company_id, at.astimezone(LOCAL_TZ).strftime("%Y-%m"))
    assert cost.ledger_entry_id == entry.id
    assert ticket.events[-1].data == {"resolution": "device_replaced", "new_device_id": w["spare"].id}
    # The replacement's purchase moves onto the truck (reversed off "no truck", booked again on it): same total.
    purchase = db.session.execute(select(LedgerEntry.truck_id, LedgerEntry.amount).where(
        LedgerEntry.category == "device_purchase", LedgerEntry.device_id == w["spare"].id).order_by(LedgerEntry.id)).all()
    assert purchase == [(None, Decimal("2350.00")), (None, Decimal("-2350.00")), (w["truck_id"], Decimal("2350.00"))]


def test_a_device_that_is_not_in_stock_is_refused_with_nothing_saved(ctx, ops, working):
    elsewhere = tf.installed_truck().device
    resp = replace(ops, working["ticket"].id, elsewhere.serial)
    assert resp.status_code == 409
    assert "not in stock" in resp.json["errors"]["device_serial"][0]
    assert_untouched(working)


def test_an_unknown_or_missing_serial_is_a_field_error(ctx, ops, working):
    resp = replace(ops, working["ticket"].id, "NO-SUCH-SERIAL")
    assert resp.status_code == 422 and "device_serial" in resp.json["errors"]
    resp = ops.post(f"/api/tickets/{working['ticket'].id}/resolve", json={"resolution": "device_replaced", "note": "x"})
    assert resp.status_code == 422 and "device_serial" in resp.json["errors"]
    assert_untouched(working)


def test_a_truck_with_an_open_work_order_is_refused(ctx, ops, working):
    order = f.open_order(db.session.get(Ticket, working["ticket"].id).truck, kind="removal", reason="truck_sold")
    resp = replace(ops, working["ticket"].id, working["spare"].serial)
    assert resp.status_code == 409 and order.number in resp.json["message"]
    db.session.expire_all()
    assert count(WorkOrder, WorkOrder.kind == "swap") == 0
    assert db.session.get(Device, working["spare"].id).status == "in_stock"


def test_a_constraint_failure_after_the_checks_saves_nothing(ctx, ops, working, monkeypatch):
    """The stock device is put on another truck by someone else after our checks: the unique index refuses ours."""
    other = tf.installed_truck()
    original = replacements._swap_order

    def swap_then_race(ticket, at):
        order = original(ticket, at)
        db.session.add(Installation(device_id=working["spare"].id, truck_id=other.truck_id, work_order_id=other.id, installed_at=at))
        return order

    monkeypatch.setattr(replacements, "_swap_order", swap_then_race)
    resp = replace(ops, working["ticket"].id, working["spare"].serial)
    assert resp.status_code == 409
    assert resp.json["errors"] == {"device_serial": [replacements.RACE_LOST]}
    assert_untouched(working)


# ---- two technicians, one stock device (PostgreSQL) ----------------------------------------------------


@pytest.fixture
def postgres_only(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks and concurrent writers need PostgreSQL; SQLite serialises every writer")


def _race(app, contractor, ticket_ids, serial):
    barrier = threading.Barrier(len(ticket_ids))
    results = [None] * len(ticket_ids)

    def resolve(i, ticket_id):
        client = RoleClient(app, contractor.user, contractor.token)  # its own client, app context and session
        barrier.wait()
        resp = replace(client, ticket_id, serial)
        results[i] = (resp.status_code, resp.json)

    threads = [threading.Thread(target=resolve, args=(i, t)) for i, t in enumerate(ticket_ids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def _setup_race(app, trucks=3):
    with app.app_context():
        ids = [tf.installed_truck_with_ticket("in_progress", category="camera_fault").id for _ in range(trucks)]
        serial = tf.spare_device().serial
    return ids, serial


def _assert_one_winner(app, ticket_ids, serial, results):
    statuses = [status for status, _ in results]
    assert sorted(statuses) == [200] + [409] * (len(ticket_ids) - 1), results
    assert all("device_serial" in body["errors"] for status, body in results if status == 409)
    winner = ticket_ids[statuses.index(200)]
    with app.app_context():
        spare = db.session.scalar(select(Device).where(Device.serial == serial))
        assert spare.status == "installed"
        on_trucks = db.session.scalars(select(Installation.truck_id).where(Installation.device_id == spare.id,
                                                                           Installation.removed_at.is_(None))).all()
        assert on_trucks == [db.session.get(Ticket, winner).truck_id]
        for ticket_id in ticket_ids:
            ticket = db.session.get(Ticket, ticket_id)
            [current] = current_installations(ticket.truck_id)
            if ticket_id == winner:
                assert ticket.state == "resolved" and current.device_id == spare.id
                assert ticket.device.status == "in_repair"
            else:
                assert ticket.state == "in_progress" and current.device_id == ticket.device_id
                assert ticket.device.status == "installed" and open_assignment(ticket.device_id) is not None
        assert count(WorkOrder, WorkOrder.kind == "swap") == 1
        assert count(LedgerEntry, LedgerEntry.source_type == "ticket") == 1 and count(TicketCost) == 1


def test_two_technicians_racing_for_one_stock_device_get_one_winner(app, contractor, postgres_only):
    ticket_ids, serial = _setup_race(app)
    _assert_one_winner(app, ticket_ids, serial, _race(app, contractor, ticket_ids, serial))


def test_without_the_row_lock_the_unique_index_still_decides(app, contractor, postgres_only, monkeypatch):
    from insurer_dms.installs import closing

    monkeypatch.setattr(closing, "_lock_device", lambda serial: db.session.scalar(select(Device).where(Device.serial == serial)))
    ticket_ids, serial = _setup_race(app)
    _assert_one_winner(app, ticket_ids, serial, _race(app, contractor, ticket_ids, serial))


# ---- SIM replaced --------------------------------------------------------------------------------------


def replace_sim(client, ticket_id, iccid, msisdn, **extra):
    return client.post(f"/api/tickets/{ticket_id}/resolve",
                       json={"resolution": "sim_replaced", "note": "SIM card burnt", "iccid": iccid, "msisdn": msisdn, **extra})


@pytest.fixture
def sim_ticket():
    ticket = tf.installed_truck_with_ticket("in_progress", category="sim_fault")
    return ticket, open_assignment(ticket.device_id).sim


def test_sim_replacement_suspends_the_old_sim_and_links_the_new_one(ctx, contractor, sim_ticket):
    ticket, old_sim = sim_ticket
    new_iccid, new_msisdn = f.iccid(prefix="898601"), f.msisdn()  # China Unicom by its issuer prefix
    resp = replace_sim(contractor, ticket.id, new_iccid, new_msisdn)
    assert resp.status_code == 200, resp.json
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    day = ticket.resolved_at.astimezone(LOCAL_TZ).date()
    old = db.session.get(Sim, old_sim.id)
    assert (old.status, old.deactivated_on) == ("suspended", day)
    assert old.assignments[-1].ended_at == ticket.resolved_at
    new = db.session.scalar(select(Sim).where(Sim.iccid == new_iccid))
    assert (new.carrier, new.status, new.activated_on, new.msisdn) == ("china_unicom", "active", day, new_msisdn)
    assert open_assignment(ticket.device_id).sim_id == new.id
    assert (ticket.old_sim_id, ticket.new_sim_id, ticket.resolution) == (old.id, new.id, "sim_replaced")
    assert db.session.get(Device, ticket.device_id).status == "installed"  # the device stays


def test_a_bad_iccid_or_carrier_is_a_field_error_with_nothing_saved(ctx, ops, sim_ticket):
    ticket, old_sim = sim_ticket
    assert "iccid" in replace_sim(ops, ticket.id, f.bad_iccid(), f.msisdn()).json["errors"]
    resp = replace_sim(ops, ticket.id, f.iccid(prefix="898601"), f.msisdn(), carrier="china_mobile")
    assert resp.status_code == 422 and "carrier" in resp.json["errors"]
    resp = replace_sim(ops, ticket.id, old_sim.iccid, old_sim.msisdn)
    assert resp.status_code == 422 and "already in the device" in resp.json["errors"]["iccid"][0]
    db.session.expire_all()
    assert db.session.get(Sim, old_sim.id).status == "active"
    assert open_assignment(ticket.device_id).sim_id == old_sim.id
    assert db.session.get(Ticket, ticket.id).state == "in_progress"


def test_a_sim_that_is_in_another_device_is_refused_with_nothing_saved(ctx, ops, sim_ticket):
    ticket, old_sim = sim_ticket
    taken = open_assignment(tf.installed_truck().device_id).sim
    resp = replace_sim(ops, ticket.id, taken.iccid, taken.msisdn)
    assert resp.status_code == 409 and "iccid" in resp.json["errors"]
    db.session.expire_all()
    assert db.session.get(Sim, old_sim.id).status == "active" and db.session.get(Sim, old_sim.id).deactivated_on is None
    assert open_assignment(ticket.device_id).sim_id == old_sim.id
    assert db.session.get(Ticket, ticket.id).state == "in_progress"


def test_replacing_needs_a_device_on_the_truck(ctx, ops):
    ticket = tf.installed_truck_with_ticket("in_progress", category="sim_fault")
    installation = current_installations(ticket.truck_id)[0]
    installation.removed_at = dt.datetime.now(dt.timezone.utc)
    db.session.commit()
    resp = replace_sim(ops, ticket.id, f.iccid(), f.msisdn())
    assert resp.status_code == 409 and "No device is installed" in resp.json["message"]
