"""Figures for the operations home: a handful of grouped queries, whatever the size of the fleet.

- ``progress``: installs.progress (insured heavy trucks, installed and connected, by county; one query);
- ``sim_bill``: per carrier its latest reconciled statement (status done: the current version of its month),
  with billed, expected and the amount in dispute as its reconciliation summary counts it (one query, then one
  grouped query per carrier: at most three);
- ``tickets``: tickets in an active state (open, assigned, in progress), and of those at risk and breached by
  their SLA state (one query);
- ``never_seen``: devices on a truck now that the platform has never seen online (one query);
- ``costs``: the ledger by category for this month and last month, by the entries' month (one query).
"""
import datetime as dt

from sqlalchemy import case, func, select

from ..catalogue.models import CatalogueEntry
from ..extensions import db
from ..fleet.models import Policy, Truck
from ..installs.models import Installation
from ..installs.progress import progress
from ..inventory.models import Device
from ..ledger.models import CATEGORIES, LedgerEntry
from ..ledger.service import cny, fen_sum, period_of
from ..maintenance.models import ACTIVE_STATES, Ticket
from ..sims.models import Statement
from ..sims.reconciliation_report import summary


def home_figures(today=None):
    """Everything on the operations home (see the module docstring); a fixed number of queries."""
    from ..fleet.service import today as local_today

    today = today or local_today()
    return {
        **fleet_figures(today),
        "progress": progress(today),
        "sim_bill": sim_bill(),
        "tickets": ticket_counts(),
        "never_seen": never_seen_count(),
        "costs": month_costs(today),
    }


def fleet_figures(today):
    """Trucks, policies, the catalogue and devices: one aggregate query each."""
    usable = (
        (CatalogueEntry.valid_from <= today)
        & ((CatalogueEntry.valid_to.is_(None)) | (CatalogueEntry.valid_to >= today))
        & ((CatalogueEntry.withdrawn_on.is_(None)) | (CatalogueEntry.withdrawn_on > today))
    )
    devices = dict(db.session.execute(select(Device.status, func.count()).group_by(Device.status)).all())
    in_force = select(Policy.truck_id).where(Policy.start_date <= today, Policy.end_date >= today)
    return {
        "catalogue_usable": db.session.scalar(select(func.count()).select_from(CatalogueEntry).where(usable)),
        "devices_by_status": devices,
        "devices_total": sum(devices.values()),
        "trucks": db.session.scalar(select(func.count()).select_from(Truck)),
        "heavy_trucks": db.session.scalar(select(func.count()).select_from(Truck).where(Truck.is_heavy)),
        "heavy_insured_today": db.session.scalar(
            select(func.count()).select_from(Truck).where(Truck.is_heavy, Truck.id.in_(in_force))
        ),
        "policies_in_force": db.session.scalar(
            select(func.count()).select_from(Policy).where(Policy.start_date <= today, Policy.end_date >= today)
        ),
    }


def sim_bill():
    """The latest reconciled statement of each carrier, with the totals of their bills."""
    latest = (
        select(Statement.carrier, func.max(Statement.period).label("period"))
        .where(Statement.status == "done").group_by(Statement.carrier).subquery()
    )
    statements = db.session.scalars(
        select(Statement).join(latest, (Statement.carrier == latest.c.carrier) & (Statement.period == latest.c.period))
        .where(Statement.status == "done").order_by(Statement.carrier, Statement.version.desc())
    ).all()
    rows, seen = [], set()
    for statement in statements:
        if statement.carrier not in seen:  # the newest version, should two be done
            seen.add(statement.carrier)
            rows.append(summary(statement.id))
    return {
        "statements": rows,
        "billed": sum((r["billed_total"] for r in rows), cny(0)),
        "expected": sum((r["expected_total"] or cny(0) for r in rows), cny(0)),
        "disputed": sum((r["amount_in_dispute"] for r in rows), cny(0)),
    }


def ticket_counts():
    """Active tickets, and of those the ones at risk of breaching their SLA and the ones past it."""
    active, at_risk, breached = db.session.execute(
        select(func.count(), func.sum(case((Ticket.sla_state == "at_risk", 1), else_=0)),
               func.sum(case((Ticket.sla_state == "breached", 1), else_=0)))
        .where(Ticket.state.in_(ACTIVE_STATES))
    ).one()
    return {"open": active, "at_risk": int(at_risk or 0), "breached": int(breached or 0)}


def never_seen_count():
    """Devices on a truck now (installation not removed) that the platform has never seen online."""
    return db.session.scalar(
        select(func.count()).select_from(Installation)
        .where(Installation.removed_at.is_(None), Installation.first_seen_at.is_(None))
    )


def month_costs(today):
    """This month's and last month's ledger totals, by category (all categories, zeros included)."""
    this = period_of(today)
    last = period_of(today.replace(day=1) - dt.timedelta(days=1))
    found = {(p, c): fen for p, c, fen in db.session.execute(
        select(LedgerEntry.period, LedgerEntry.category, fen_sum())
        .where(LedgerEntry.period.in_((this, last))).group_by(LedgerEntry.period, LedgerEntry.category)
    )}
    by_category = [{"category": c, "this": cny(found.get((this, c), 0)), "last": cny(found.get((last, c), 0))}
                   for c in CATEGORIES]
    return {"this_period": this, "last_period": last, "by_category": by_category,
            "this": sum((r["this"] for r in by_category), cny(0)), "last": sum((r["last"] for r in by_category), cny(0))}
