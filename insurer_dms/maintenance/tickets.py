"""The core of a ticket's life, shared by the service, the signals and the SLA job (no commits here).

* ``open_ticket`` creates a ticket with its SLA due time, its first state span and a ``created`` event;
* ``signal`` folds a signal into the truck's active ticket of that category, or opens one: the partial unique
  index ``uq_ticket_active_truck_category`` makes that hold under races too (a savepoint retries as an event);
* ``enter_state`` is the one gate for state changes: legal transitions only, span bookkeeping, event, activity;
* ``add_cost_line`` writes a cost line with its ledger entry (period: the month of its date in Asia/Shanghai).
"""
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from .. import activity
from ..errors import Conflict
from ..extensions import db
from ..labels import named
from ..ledger import service as ledger
from ..types import utcnow
from .models import ACTIVE_STATES, Ticket, TicketCost, TicketEvent, TicketStateSpan

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
# Changes of a state move worth keeping in its event's data (the rest is in the activity log).
EVENT_FIELDS = ("company_id", "resolution", "new_device_id", "old_sim_id", "new_sim_id")

# Legal moves. Reopening (resolved/closed -> assigned, or open when no company) is counted in reopen_count.
# open/assigned -> resolved is only for the automatic "back online" resolution (nobody worked on it).
TRANSITIONS = {
    "open": ("assigned", "resolved", "cancelled"),
    "assigned": ("assigned", "in_progress", "resolved", "open", "cancelled"),
    "in_progress": ("resolved", "cancelled"),
    "resolved": ("closed", "assigned", "open"),
    "closed": ("assigned", "open"),
    "cancelled": (),
}
REOPEN_FROM = ("resolved", "closed")


def _user_id():
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id
    return None


def sla_hours(priority):
    return current_app.config["TICKET_SLA_HOURS"][priority]


def sla_due(opened_at, priority):
    return opened_at + dt.timedelta(hours=sla_hours(priority))


def add_event(ticket, kind, note=None, data=None, source=None, from_state=None, to_state=None, at=None):
    event = TicketEvent(ticket=ticket, kind=kind, note=note, data=activity.jsonable(data) if data else None,
                        source=source, from_state=from_state, to_state=to_state, at=at or utcnow(),
                        actor=activity.actor_label(), user_id=_user_id())
    db.session.add(event)
    return event


def _open_span(ticket, state, at):
    db.session.add(TicketStateSpan(ticket=ticket, state=state, entered_at=at))


def _close_span(ticket, at):
    span = db.session.scalar(select(TicketStateSpan).where(
        TicketStateSpan.ticket_id == ticket.id, TicketStateSpan.left_at.is_(None)))
    if span is not None:
        span.left_at = at
        span.seconds = max(0, int((at - span.entered_at).total_seconds()))


def _number(ticket):
    return f"TK-{ticket.opened_at:%Y%m%d}-{ticket.id:06d}"


def open_tickets(rows, category, source, priority="normal", at=None):
    """New tickets in state ``open``, one per row ``(truck_id, device_id, description, data)``: flushed (ids and
    numbers set), each with its first state span, its ``created`` event and its activity entry, in a few multi-row
    statements whatever the number of rows. The caller commits. Returns the tickets in the order of ``rows``."""
    at = at or utcnow()
    user_id = _user_id()
    new = [Ticket(truck_id=truck_id, device_id=device_id, category=category, source=source, priority=priority,
                  state="open", description=description, opened_at=at, sla_due_at=sla_due(at, priority),
                  sla_state="on_track", last_signal_at=at, signal_count=1, created_by_id=user_id,
                  number=f"TK-P-{uuid.uuid4().hex[:20]}")  # placeholder until the id is known
           for truck_id, device_id, description, _data in rows]
    db.session.add_all(new)
    db.session.flush()
    for ticket in new:
        ticket.number = _number(ticket)
    actor = activity.actor_label()
    db.session.execute(insert(TicketStateSpan), [{"ticket_id": t.id, "state": "open", "entered_at": at} for t in new])
    db.session.execute(insert(TicketEvent), [
        {"ticket_id": ticket.id, "kind": "created", "source": source, "to_state": "open", "note": description,
         "data": activity.jsonable(data) if data else None, "at": at, "actor": actor, "user_id": user_id}
        for ticket, (_truck, _device, description, data) in zip(new, rows)])
    activity.record_many([("create", ticket, None, None) for ticket in new])
    return new


def open_ticket(truck_id, category, source, priority="normal", device_id=None, description=None, data=None, at=None,
                company_id=None):
    """A new ticket in state ``open`` (``open_tickets`` for one), assigned at once when ``company_id`` is given."""
    at = at or utcnow()
    [ticket] = open_tickets([(truck_id, device_id, description, data)], category, source, priority, at)
    if company_id is not None:
        enter_state(ticket, "assigned", at=at, company_id=company_id)
    return ticket


def active_ticket(truck_id, category, lock=False):
    query = select(Ticket).where(Ticket.truck_id == truck_id, Ticket.category == category,
                                 Ticket.state.in_(ACTIVE_STATES))
    if lock:
        query = query.with_for_update()
    return db.session.scalar(query)


def signal(truck_id, category, source, note=None, data=None, device_id=None, priority="normal", at=None):
    """Fold a signal into the truck's active ticket of ``category`` or open one; returns (ticket, opened).

    Runs in a savepoint: a concurrent signal that opened the same ticket first makes this one an event on it.
    """
    at = at or utcnow()
    for _attempt in range(2):
        existing = active_ticket(truck_id, category, lock=True)
        if existing is not None:
            existing.signal_count = (existing.signal_count or 0) + 1
            existing.last_signal_at = at
            add_event(existing, "signal", note=note, data=data, source=source, at=at)
            return existing, False
        try:
            with db.session.begin_nested():
                ticket = open_ticket(truck_id, category, source, priority=priority, device_id=device_id,
                                     description=note, data=data, at=at)
            return ticket, True
        except IntegrityError:
            continue  # lost the race to another signal: fold into its ticket
    raise Conflict(_l("Another signal for this truck and category got there first; try again."))


def enter_state(ticket, to, note=None, at=None, **changes):
    """Move ``ticket`` to ``to`` (no commit): legal moves only, spans, event, activity. Returns the ticket."""
    frm = ticket.state
    if to not in TRANSITIONS.get(frm, ()):
        message = _l("A ticket cannot go from %(frm)s to %(to)s.", frm=named("ticket_state", frm), to=named("ticket_state", to))
        raise Conflict(message, {"state": [message]})
    at = at or utcnow()
    if frm in REOPEN_FROM and to in ("assigned", "open"):
        changes.setdefault("reopen_count", (ticket.reopen_count or 0) + 1)
        changes.setdefault("resolution", None)
        changes.setdefault("resolved_at", None)
        changes.setdefault("closed_at", None)
    if to == "in_progress" and ticket.work_started_at is None:
        changes.setdefault("work_started_at", at)
    if to == "resolved":
        changes.setdefault("resolved_at", at)
    if to == "closed":
        changes.setdefault("closed_at", at)
    before, after = activity.changes(ticket, {"state": to, **changes})
    if frm != to:
        _close_span(ticket, at)
        _open_span(ticket, to, at)
    add_event(ticket, "state", note=note, from_state=frm, to_state=to, at=at,
              data={k: v for k, v in changes.items() if k in EVENT_FIELDS} or None)
    activity.record(f"state:{frm}->{to}", ticket, before, after, note=note)
    return ticket


def add_cost_line(ticket, category, amount, description=None, at=None):
    """A cost line of ``ticket`` with its ledger entry (source ``ticket``), event and activity (no commit)."""
    at = at or utcnow()
    cost = TicketCost(ticket=ticket, category=category, amount=amount, description=description, created_at=at,
                      created_by_id=_user_id())
    db.session.add(cost)
    entry = ledger.post(category, amount, at.astimezone(LOCAL_TZ).date(), "ticket", ticket.id, truck_id=ticket.truck_id,
                        device_id=ticket.device_id, company_id=ticket.company_id,
                        note=f"{ticket.number}: {description}" if description else ticket.number)
    db.session.flush()
    cost.ledger_entry_id = entry.id
    add_event(ticket, "cost", note=description, at=at,
              data={"cost_id": cost.id, "category": category, "amount": amount, "ledger_entry_id": entry.id})
    activity.record("create", cost)
    return cost
