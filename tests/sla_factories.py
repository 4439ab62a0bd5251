"""SLA test data: tickets opened and moved at chosen moments with the core ticket functions, ledger cost entries.

Built on ``maintenance.tickets`` (open_ticket, enter_state) rather than the ticket service, so the SLA tests set
every timestamp by hand. Every helper needs an app context (the ``ctx`` fixture) and commits what it creates.
"""
import datetime as dt

from insurer_dms.extensions import db
from tests import install_factories as f

UTC = dt.timezone.utc
# A fixed moment the SLA clock is measured from (10:00 in Chaozhou on 1 March 2024).
T0 = dt.datetime(2024, 3, 1, 2, 0, tzinfo=UTC)


def hours(h):
    return T0 + dt.timedelta(hours=h)


def ticket(opened_at=T0, priority="normal", category="device_offline", company=None, truck=None):
    """An open ticket on a fresh insured truck, opened at ``opened_at``; assigned at once to ``company`` (a name)."""
    from insurer_dms.maintenance import tickets

    truck = truck or f.insured_truck()
    company_id = f.company(company).id if company else None
    item = tickets.open_ticket(truck.id, category, "staff", priority=priority, at=opened_at, company_id=company_id)
    db.session.commit()
    return item


def move(item, *states, at):
    """Walk ``item`` through ``states`` at the moment ``at`` (company for "assigned": the ticket's own)."""
    from insurer_dms.maintenance import tickets

    for state in states:
        changes = {"company_id": item.company_id} if state == "assigned" else {}
        tickets.enter_state(item, state, at=at, **changes)
    db.session.commit()
    return item


def resolved(opened_at, resolved_at, company=None, category="device_offline", priority="normal"):
    """A ticket opened at ``opened_at``, worked on by ``company`` (or nobody) and resolved at ``resolved_at``."""
    item = ticket(opened_at, priority=priority, category=category, company=company)
    steps = ("in_progress", "resolved") if company else ("resolved",)
    return move(item, *steps, at=resolved_at)


def cost(category, amount, period, item=None):
    """A ledger entry of a maintenance cost (category maintenance_labour, parts or travel) for month ``period``."""
    from insurer_dms.ledger import service as ledger

    entry = ledger.post(category, amount, period, "ticket", item.id if item else 0)
    db.session.commit()
    return entry
