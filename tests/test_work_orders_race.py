"""Many technicians closing at once with few devices (PostgreSQL): one device per truck, one truck per device, losers 409."""
import random
import threading

import pytest
from sqlalchemy import func, select

from insurer_dms.extensions import db
from insurer_dms.installs.models import Installation, WorkOrder
from insurer_dms.inventory.models import Device
from insurer_dms.ledger.models import LedgerEntry
from insurer_dms.sims.models import SimAssignment
from tests import install_factories as f
from tests.conftest import RoleClient

ORDERS, DEVICES = 12, 3


@pytest.fixture
def postgres_only(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks and concurrent writers need PostgreSQL; SQLite serialises every writer")


def _setup(app):
    with app.app_context():
        orders = []
        for _ in range(ORDERS):
            order = f.scheduled_order("Alpha Installations")
            f.with_photos(order)
            orders.append(order.id)
        serials = [d.serial for d in f.stock_devices(DEVICES)]
    return orders, serials


def _close_all_at_once(app, contractor, orders, serials, seed):
    rng = random.Random(seed)
    plan = [(order_id, rng.choice(serials), f.iccid(), f.msisdn()) for order_id in orders]
    barrier = threading.Barrier(len(plan))
    results = [None] * len(plan)

    def close(i, order_id, serial, iccid, msisdn):
        client = RoleClient(app, contractor.user, contractor.token)  # its own client, app context and session
        barrier.wait()
        resp = client.post(f"/api/work-orders/{order_id}/close",
                           json={"device_serial": serial, "iccid": iccid, "msisdn": msisdn, "installed_at": "2024-05-20T10:30:00+08:00"})
        results[i] = (resp.status_code, resp.json)

    threads = [threading.Thread(target=close, args=(i, *step)) for i, step in enumerate(plan)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return plan, results


def _assert_invariants(app, plan, results):
    statuses = [status for status, _ in results]
    assert set(statuses) <= {200, 409}, results
    winners = {plan[i][1] for i, (status, _) in enumerate(results) if status == 200}
    assert statuses.count(200) == len({serial for _, serial, _, _ in plan}) == len(winners)
    assert all("device_serial" in body["errors"] for status, body in results if status == 409)
    with app.app_context():
        current = db.session.execute(select(Installation.device_id, Installation.truck_id).where(Installation.removed_at.is_(None))).all()
        assert len(current) == statuses.count(200)
        assert len({d for d, _ in current}) == len(current), "a device is on two trucks"
        assert len({t for _, t in current}) == len(current), "a truck has two devices"
        assert db.session.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.state == "installed")) == len(current)
        assert db.session.scalar(select(func.count()).select_from(WorkOrder).where(WorkOrder.state == "scheduled")) == ORDERS - len(current)
        assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.category == "installation_fee")) == len(current)
        assert db.session.scalar(select(func.count()).select_from(SimAssignment)) == len(current)
        installed = db.session.scalars(select(Device.serial).where(Device.status == "installed")).all()
        assert set(installed) == winners


@pytest.mark.parametrize("seed", [1, 2])
def test_concurrent_closes_with_few_devices_one_winner_per_device(app, contractor, postgres_only, seed):
    orders, serials = _setup(app)
    plan, results = _close_all_at_once(app, contractor, orders, serials, seed)
    _assert_invariants(app, plan, results)


def test_without_the_row_lock_the_database_still_refuses_the_second_installation(app, contractor, postgres_only, monkeypatch):
    from insurer_dms.installs import closing

    def unlocked(serial):
        return db.session.scalar(select(Device).where(Device.serial == serial))

    monkeypatch.setattr(closing, "_lock_device", unlocked)  # the unique indexes are the last line of defence
    orders, serials = _setup(app)
    plan, results = _close_all_at_once(app, contractor, orders, serials[:1], seed=3)
    _assert_invariants(app, plan, results)
