"""Everything about one truck for its page: operator, policies, devices and SIMs over time, work orders, tickets,
ledger entries and their total, activity. One query per kind of record, whatever the truck's history."""
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from .. import activity
from ..extensions import db
from ..installs.models import Installation, WorkOrder
from ..inventory.models import Device
from ..ledger.models import LedgerEntry
from ..ledger.service import cny, fen_sum
from ..maintenance.models import Ticket
from ..sims.models import SimAssignment
from .models import Truck
from .service import _missing

LEDGER_ROWS = 20  # the latest entries on the page; the truck's ledger page lists them all


def _sims_by_installation(installations):
    """The SIM assignments of each installation's device while it was on the truck (one query for all)."""
    device_ids = {i.device_id for i in installations}
    assignments = db.session.scalars(
        select(SimAssignment).options(joinedload(SimAssignment.sim))
        .where(SimAssignment.device_id.in_(device_ids)).order_by(SimAssignment.started_at)
    ).all() if device_ids else []
    found = {}
    for i in installations:
        found[i.id] = [
            a for a in assignments
            if a.device_id == i.device_id and (i.removed_at is None or a.started_at <= i.removed_at)
            and (a.ended_at is None or a.ended_at >= i.installed_at)
        ]
    return found


def overview(truck_id):
    """The truck and its records, newest first; 404 when there is no such truck."""
    truck = db.session.scalar(
        select(Truck).options(joinedload(Truck.operator)).where(Truck.id == truck_id)
    ) or _missing("truck", truck_id)
    installations = db.session.scalars(
        select(Installation).options(joinedload(Installation.device).joinedload(Device.catalogue_entry))
        .where(Installation.truck_id == truck.id).order_by(Installation.installed_at.desc(), Installation.id.desc())
    ).all()
    orders = db.session.scalars(
        select(WorkOrder).options(joinedload(WorkOrder.company), joinedload(WorkOrder.device))
        .where(WorkOrder.truck_id == truck.id).order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())
    ).all()
    tickets = db.session.scalars(
        select(Ticket).options(joinedload(Ticket.company))
        .where(Ticket.truck_id == truck.id).order_by(Ticket.opened_at.desc(), Ticket.id.desc())
    ).all()
    entries = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.truck_id == truck.id).order_by(LedgerEntry.id.desc()).limit(LEDGER_ROWS)
    ).all()
    count, fen = db.session.execute(
        select(func.count(), fen_sum()).where(LedgerEntry.truck_id == truck.id)
    ).one()
    return {
        "truck": truck,
        "policies": truck.policies,
        "installations": installations,
        "sims": _sims_by_installation(installations),
        "work_orders": orders,
        "tickets": tickets,
        "ledger": {"entries": entries, "count": count, "total": cny(fen)},
        "history": activity.history("truck", truck.id),
    }
