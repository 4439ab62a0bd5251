"""Home page test data: a small programme counted by hand, and fleets of any size for the query-count test.

Every helper needs an app context and commits what it creates.
"""
import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from insurer_dms.extensions import db
from insurer_dms.ledger import service as ledger
from insurer_dms.sims import reconciliation
from insurer_dms.sims.models import Statement
from insurer_dms.types import utcnow
from tests import install_factories as inst
from tests import statement_factories as sf
from tests import ticket_factories as tf


def last_month(today):
    return f"{today.replace(day=1) - dt.timedelta(days=1):%Y-%m}"


def _ticket(order, state, sla_state, category="device_offline"):
    ticket = tf.advance(tf.ticket_on(order, category=category), state)
    ticket.sla_state = sla_state  # as the SLA job marks it
    db.session.commit()
    return ticket


def scene():
    """Five insured heavy trucks, three tickets open, a corrected SIM bill, costs this month and last.

    Xiangqiao: T1 installed and seen online, T2 installed never seen, T3 waiting. Raoping: T4 installed and connected
    by hand (never seen by the platform), T5 whose device came off again. Four devices bought today at 2,200.00.
    """
    today = inst.local_today()
    this, last = f"{today:%Y-%m}", last_month(today)
    t1, t2, t3 = (inst.insured_truck(county="445102") for _ in range(3))
    t4, t5 = (inst.insured_truck(county="445122") for _ in range(2))
    o1 = inst.installed_directly(truck=t1, first_seen_at=inst.INSTALLED_AT + dt.timedelta(hours=2))
    o2 = inst.installed_directly(truck=t2)
    o4 = inst.installed_directly(truck=t4, state="connected")
    inst.installed_directly(truck=t5)
    from insurer_dms.installs.models import Installation

    db.session.scalar(select(Installation).where(Installation.truck_id == t5.id)).removed_at = utcnow()
    db.session.commit()

    _ticket(o1, "open", "at_risk")
    _ticket(o2, "in_progress", "breached")
    _ticket(o4, "assigned", "on_track")
    _ticket(o1, "closed", "breached", category="camera_fault")

    plan = sf.plan(fee="10.00")
    o1.sim.plan_id = o2.sim.plan_id = plan.id
    db.session.commit()
    v1 = sf.statement([sf.line(o1.sim.iccid, "10.00"), sf.line(o2.sim.iccid, "12.00")], period=last)
    reconciliation.reconcile(v1.id)
    v2 = sf.statement([sf.line(o1.sim.iccid, "10.00"), sf.line(o2.sim.iccid, "15.00")], period=last)
    reconciliation.reconcile(v2.id)

    ledger.post("installation_fee", Decimal("280.00"), this, "work_order", o1.id, truck_id=t1.id)
    ledger.post("travel", Decimal("40.00"), last, "ticket", 1, truck_id=t2.id)
    db.session.commit()
    return {"period": last, "this_period": this, "statement_id": v2.id, "trucks": (t1, t2, t3, t4, t5)}


def fleet(count):
    """``count`` more insured heavy trucks over three counties: every second one installed (every fourth never
    seen online), every sixth with an open ticket; a reconciled China Mobile statement the first time."""
    counties = ("445102", "445103", "445122")
    orders = []
    for i in range(count):
        truck = inst.insured_truck(county=counties[i % 3])
        if i % 2 == 0:
            seen = None if i % 4 == 0 else inst.INSTALLED_AT + dt.timedelta(hours=1)
            order = inst.installed_directly(truck=truck, first_seen_at=seen)
            orders.append(order)
            if i % 6 == 0:
                _ticket(order, "open", "at_risk")
    if orders and not db.session.scalar(select(func.count()).select_from(Statement)):
        plan = sf.plan(fee="10.00")
        orders[0].sim.plan_id = plan.id
        db.session.commit()
        statement = sf.statement([sf.line(orders[0].sim.iccid, "12.00")], period=last_month(inst.local_today()))
        reconciliation.reconcile(statement.id)
