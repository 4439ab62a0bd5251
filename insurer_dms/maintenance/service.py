"""Ticket rules: who sees which ticket, opening one by hand, the workflow, notes and cost lines.

* Contractors see and act on their own company's tickets only; another company's ticket is "not found", as for
  work orders. A contractor may open a ticket (source ``contractor``) only on a truck where the company has work:
  it installed the device now on the truck, or it has an active work order or ticket there. The ticket is assigned
  to the company at once, so the technician who found the fault can work it.
* Opening a ticket by hand is a signal like any other: when the truck already has an active ticket of that
  category, the report becomes an event on it (one open ticket per device and category).
* The workflow: assign (ops) -> start (the company or ops) -> resolve (same) -> close (ops, after checking);
  reopen (ops) from resolved or closed; cancel (ops) before resolved. The state gate is ``tickets.enter_state``.
* Resolving by replacing the device or the SIM changes the inventory in the same transaction (``replacements.py``).
* Cost lines (labour, parts, travel) write their ledger entry in the same transaction.
"""
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, or_, select
from sqlalchemy.orm import joinedload

from .. import activity
from ..auth.models import ContractorCompany, Role
from ..errors import Conflict, DomainError, Invalid, NotFound, invalid
from ..extensions import db
from ..fleet.models import Truck
from ..installs.models import ACTIVE_STATES as ORDER_ACTIVE_STATES
from ..installs.models import Installation, WorkOrder
from ..installs.service import current_installation
from ..labels import named
from ..transactions import commit_or_conflict
from ..types import utcnow
from . import replacements, tickets
from .models import ACTIVE_STATES, CATEGORIES, COST_CATEGORIES, PRIORITIES, SOURCES, Ticket

# What a person may resolve a ticket as; ``back_online`` is only set by the platform signal (nobody worked on it).
MANUAL_RESOLUTIONS = ("repaired_on_site", "device_replaced", "sim_replaced", "no_fault_found")
# A contractor records cost lines for work done: while on it, and after resolving until operations close it.
CONTRACTOR_COST_STATES = ("in_progress", "resolved")
MAX_AMOUNT = Decimal("9999999999.99")


def _commit(message=_l("Someone else changed this ticket at the same moment; reload and try again."), field="state"):
    commit_or_conflict(message, field)


def _conflict(field, message):
    return Conflict(message, {field: [message]})


def _own_company(user):
    """The company a contractor user is limited to (-1 for one without a company), or None for staff and jobs."""
    if user is not None and user.role == Role.CONTRACTOR:
        return user.company_id or -1
    return None


# ---- look-ups and lists ------------------------------------------------------------------------------


def tickets_query(user, state=None, category=None, priority=None, sla_state=None, source=None, company_id=None,
                  plate=None, q=None, truck_id=None):
    """Tickets visible to ``user`` matching the filters, newest first; ``state="active"``: open, assigned, in progress."""
    stmt = select(Ticket).join(Ticket.truck).options(joinedload(Ticket.truck), joinedload(Ticket.company),
                                                     joinedload(Ticket.device))
    own = _own_company(user)
    if own is not None:
        stmt = stmt.where(Ticket.company_id == own)
    if state == "active":
        stmt = stmt.where(Ticket.state.in_(ACTIVE_STATES))
    elif state:
        stmt = stmt.where(Ticket.state == state)
    for column, value in ((Ticket.category, category), (Ticket.priority, priority), (Ticket.sla_state, sla_state),
                          (Ticket.source, source), (Ticket.company_id, company_id), (Ticket.truck_id, truck_id)):
        if value:
            stmt = stmt.where(column == value)
    if plate and plate.strip():
        stmt = stmt.where(Truck.plate.contains(plate.strip().upper(), autoescape=True))
    if q and q.strip():
        text = q.strip()
        stmt = stmt.where(or_(Ticket.number.icontains(text, autoescape=True), Truck.plate.contains(text.upper(), autoescape=True),
                              Ticket.description.icontains(text, autoescape=True)))
    return stmt.order_by(Ticket.opened_at.desc(), Ticket.id.desc())


def get_ticket(ticket_id, lock=False):
    stmt = select(Ticket).where(Ticket.id == ticket_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    ticket = db.session.scalar(stmt)
    if ticket is None:
        raise NotFound(_l("No ticket %(id)s.", id=ticket_id))
    return ticket


def get_ticket_for(user, ticket_id, lock=False):
    """The ticket if ``user`` may see it; another company's ticket is answered as not found."""
    ticket = get_ticket(ticket_id, lock)
    own = _own_company(user)
    if own is not None and ticket.company_id != own:
        raise NotFound(_l("No ticket %(id)s.", id=ticket_id))
    return ticket


def time_in_state(ticket, now=None):
    """Seconds spent in each state over the ticket's life (the current stay counted until ``now``)."""
    now = now or utcnow()
    totals = {}
    for span in ticket.spans:
        seconds = span.seconds if span.left_at is not None else max(0, int((now - span.entered_at).total_seconds()))
        totals[span.state] = totals.get(span.state, 0) + seconds
    return totals


def available_actions(user, ticket):
    """The workflow actions ``user`` may take on ``ticket`` now (the pages show these forms only)."""
    state, staff = ticket.state, _own_company(user) is None
    actions = {"note"}
    if state == "assigned":
        actions.add("start")
    if state == "in_progress":
        actions.add("resolve")
    if staff:
        actions.add("cost")
        actions.update(name for name, allowed in (("assign", ("open", "assigned")), ("unassign", ("assigned",)),
                                                   ("close", ("resolved",)), ("reopen", tickets.REOPEN_FROM),
                                                   ("cancel", ACTIVE_STATES)) if state in allowed)
    elif state in CONTRACTOR_COST_STATES:
        actions.add("cost")
    return actions


def companies():
    return db.session.scalars(select(ContractorCompany).order_by(ContractorCompany.name)).all()


# ---- opening -----------------------------------------------------------------------------------------


def _truck(truck_id, plate):
    if truck_id is not None:
        truck = db.session.get(Truck, truck_id)
    else:
        truck = db.session.scalar(select(Truck).where(Truck.plate == (plate or "").strip().upper()))
    if truck is None:
        field, value = ("truck_id", truck_id) if truck_id is not None else ("plate", plate)
        raise invalid(field, _l("No truck %(truck)s.", truck=value))
    return truck


def company_works_on(company_id, truck_id):
    """True when the company installed the device now on the truck, or has an active work order or ticket there."""
    installed = (select(Installation.id).join(WorkOrder, WorkOrder.id == Installation.work_order_id)
                 .where(Installation.truck_id == truck_id, Installation.removed_at.is_(None), WorkOrder.company_id == company_id))
    ordered = select(WorkOrder.id).where(WorkOrder.truck_id == truck_id, WorkOrder.company_id == company_id,
                                         WorkOrder.state.in_(ORDER_ACTIVE_STATES))
    ticketed = select(Ticket.id).where(Ticket.truck_id == truck_id, Ticket.company_id == company_id,
                                       Ticket.state.in_(ACTIVE_STATES))
    return bool(db.session.scalar(select(or_(exists(installed), exists(ordered), exists(ticketed)))))


def create_ticket(user, data):
    """Open a ticket (or fold the report into the truck's active ticket of the category); returns (ticket, opened).

    ``data``: ``truck_id`` or ``plate``, ``category``, and optionally ``priority``, ``description``; staff may also
    give ``source`` (default ``staff``) and ``company_id`` (assign at once).
    """
    errors = {}
    category, priority = data.get("category"), data.get("priority") or "normal"
    if category not in CATEGORIES:
        errors["category"] = [_l("Category must be one of %(values)s.", values=", ".join(CATEGORIES))]
    if priority not in PRIORITIES:
        errors["priority"] = [_l("Priority must be one of %(values)s.", values=", ".join(PRIORITIES))]
    if data.get("truck_id") is None and not (data.get("plate") or "").strip():
        errors["truck_id"] = [_l("Give the truck (its id or its plate).")]
    own = _own_company(user)
    source, company_id = (data.get("source") or "staff", data.get("company_id")) if own is None else ("contractor", own)
    if source not in SOURCES:
        errors["source"] = [_l("Source must be one of %(sources)s.", sources=", ".join(SOURCES))]
    if errors:
        raise Invalid(_l("The ticket cannot be opened; fix the fields listed."), errors)
    try:
        truck = _truck(data.get("truck_id"), data.get("plate"))
    except Invalid:
        if own is not None:  # the same answer whether the truck is unknown or another company's
            raise invalid("truck_id", _l("Your company has no work on this truck (or there is no such truck).")) from None
        raise
    if own is not None and not company_works_on(own, truck.id):
        raise invalid("truck_id", _l("Your company has no work on this truck (or there is no such truck)."))
    if company_id is not None and db.session.get(ContractorCompany, company_id) is None:
        raise invalid("company_id", _l("No contractor company with id %(id)s.", id=company_id))

    installation = current_installation(truck_id=truck.id)
    description = (data.get("description") or "").strip() or None
    ticket, opened = tickets.signal(truck.id, category, source, note=description, priority=priority,
                                    device_id=installation.device_id if installation else None)
    if not opened and own is not None and ticket.company_id != own:
        db.session.rollback()
        raise _conflict("category", _l("This truck already has an active ticket of this category, followed by operations; "
                                       "tell them what you found."))
    if opened and company_id is not None:
        tickets.enter_state(ticket, "assigned", company_id=company_id)
    _commit(_l("Another report for this truck and category arrived at the same moment; try again."), "category")
    return ticket, opened


# ---- the workflow ------------------------------------------------------------------------------------


def _refuse(ticket, to, why=None):
    frm, to = named("ticket_state", ticket.state), named("ticket_state", to)
    message = (_l("A ticket cannot go from %(frm)s to %(to)s: %(why)s", frm=frm, to=to, why=why) if why
               else _l("A ticket cannot go from %(frm)s to %(to)s.", frm=frm, to=to))
    return Conflict(message, {"state": [message]})


def assign(ticket_id, company_id):
    """Give an open ticket to a contractor company, or an assigned one to another company (operations)."""
    ticket = get_ticket(ticket_id, lock=True)
    if db.session.get(ContractorCompany, company_id) is None:
        raise invalid("company_id", _l("No contractor company with id %(id)s.", id=company_id))
    if ticket.state in tickets.REOPEN_FROM:
        raise _refuse(ticket, "assigned", _l("reopen it instead."))
    tickets.enter_state(ticket, "assigned", company_id=company_id)
    _commit()
    return ticket


def unassign(ticket_id, reason):
    """Take an assigned ticket back from its company before work started; it is open again (operations)."""
    reason = _required(reason, "reason", _l("Say why the ticket is taken back."))
    ticket = get_ticket(ticket_id, lock=True)
    if ticket.state != "assigned":
        raise _refuse(ticket, "open", _l("only an assigned ticket can be taken back."))
    tickets.enter_state(ticket, "open", note=reason, company_id=None)
    _commit()
    return ticket


def start(user, ticket_id):
    """The assigned company (or operations) starts work on the ticket."""
    ticket = get_ticket_for(user, ticket_id, lock=True)
    tickets.enter_state(ticket, "in_progress")
    _commit()
    return ticket


def _required(value, field, message):
    text = (value or "").strip()
    if not text:
        raise invalid(field, message)
    return text


def resolve(user, ticket_id, data):
    """Record how a ticket in progress was resolved; a device or SIM replacement is done in the same transaction.

    ``data``: ``resolution`` (MANUAL_RESOLUTIONS), ``note``; ``device_serial`` for device_replaced; ``iccid``,
    ``msisdn`` (and optionally ``carrier``) of the new SIM for sim_replaced.
    """
    resolution = data.get("resolution")
    if resolution not in MANUAL_RESOLUTIONS:
        raise invalid("resolution", _l("Resolution must be one of %(values)s.", values=", ".join(MANUAL_RESOLUTIONS)))
    note = _required(data.get("note"), "note", _l("Say what was found and done."))
    try:
        with replacements.race_guard(resolution):
            ticket = get_ticket_for(user, ticket_id, lock=True)
            if ticket.state != "in_progress":
                raise _refuse(ticket, "resolved", _l("start the work first.") if ticket.state in ("open", "assigned") else None)
            at = utcnow()
            changes = {"resolution": resolution, "resolution_note": note}
            if resolution == "device_replaced":
                changes.update(replacements.replace_device(ticket, data.get("device_serial"), at))
            elif resolution == "sim_replaced":
                changes.update(replacements.replace_sim(ticket, data.get("iccid"), data.get("msisdn"), data.get("carrier"), at))
            tickets.enter_state(ticket, "resolved", note=note, at=at, **changes)
            db.session.commit()
    except DomainError:
        db.session.rollback()  # nothing of a refused resolution stays in the session
        raise
    return ticket


def close(ticket_id, note=None):
    """Operations close a resolved ticket after checking the work."""
    ticket = get_ticket(ticket_id, lock=True)
    tickets.enter_state(ticket, "closed", note=(note or "").strip() or None)
    _commit()
    return ticket


def reopen(ticket_id, reason):
    """Reopen a resolved or closed ticket: back to its company (assigned), else open. Spans and events stay."""
    reason = _required(reason, "reason", _l("Say why the ticket is reopened."))
    ticket = get_ticket(ticket_id, lock=True)
    to = "assigned" if ticket.company_id else "open"
    if ticket.state not in tickets.REOPEN_FROM:
        raise _refuse(ticket, to, _l("only a resolved or closed ticket is reopened."))
    newer = tickets.active_ticket(ticket.truck_id, ticket.category)
    if newer is not None:
        raise _refuse(ticket, to, _l("ticket %(number)s is already active for this truck and category; work on that one.",
                                     number=newer.number))
    with replacements.race_guard_for("state", _l("Another ticket of this category became active at the same moment; nothing "
                                                 "was saved.")):
        tickets.enter_state(ticket, to, note=reason)
        db.session.commit()
    return ticket


def cancel(ticket_id, reason):
    """Cancel a ticket that was not resolved (raised by mistake, duplicate, truck gone), saying why."""
    reason = _required(reason, "reason", _l("Say why the ticket is cancelled."))
    ticket = get_ticket(ticket_id, lock=True)
    tickets.enter_state(ticket, "cancelled", note=reason)
    _commit()
    return ticket


# ---- notes and costs ---------------------------------------------------------------------------------


def add_note(user, ticket_id, note):
    """A note on the ticket's trail (what was seen, a call with the driver...)."""
    note = _required(note, "note", _l("Write the note."))
    ticket = get_ticket_for(user, ticket_id, lock=True)
    event = tickets.add_event(ticket, "note", note=note)
    activity.record("note", ticket, note=note)
    _commit()
    return event


def _amount(value, errors):
    try:
        amount = Decimal(str(value))
    except (ArithmeticError, ValueError, TypeError):
        errors["amount"] = [_l("The amount is not a number.")]
        return None
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        errors["amount"] = [_l("The amount must be more than 0 and at most %(max)s.", max=MAX_AMOUNT)]
    elif amount.as_tuple().exponent < -2:
        errors["amount"] = [_l("At most two decimal places (CNY fen).")]
    return amount


def add_cost(ticket_id, category, amount, description=None, user=None, at=None):
    """A cost line (labour, parts, travel) and its ledger entry, in one transaction; the period is the month of
    the cost's date in Asia/Shanghai. ``user`` (a contractor) is limited to its company's tickets."""
    errors = {}
    if category not in COST_CATEGORIES:
        errors["category"] = [_l("Category must be one of %(values)s.", values=", ".join(COST_CATEGORIES))]
    amount = _amount(amount, errors)
    if errors:
        raise Invalid(_l("The cost line cannot be recorded; fix the fields listed."), errors)
    ticket = get_ticket_for(user, ticket_id, lock=True)
    if _own_company(user) is not None and ticket.state not in CONTRACTOR_COST_STATES:
        raise _conflict("state", _l("Ticket %(number)s is %(state)s; costs are recorded while the work is in progress or "
                                    "resolved, before operations close it.", number=ticket.number,
                                    state=named("ticket_state", ticket.state)))
    cost = tickets.add_cost_line(ticket, category, amount, (description or "").strip() or None, at=at)
    _commit()
    return cost
