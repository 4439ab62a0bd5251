"""Marking tickets at risk of missing their SLA, and breached, in sets (run by ``jobs.sla.mark_sla``).

The rules, for a ticket in an active state (open, assigned, in_progress) at the moment ``now``:

* **breached** once ``now`` is past its due time (``now > sla_due_at``; at the due time itself it is still in time);
* **at risk** once the share TICKET_AT_RISK_SHARE (0.8) of its SLA window (``sla_due_at - opened_at``) is used:
  ``now - opened_at >= 0.8 x (sla_due_at - opened_at)``, compared to the millisecond. A normal ticket (72 h) is
  on track at 57.5 h, at risk at 57.6 h, breached at 72 h and 1 s; an urgent one (24 h) at risk at 19.2 h.
* marks only go forward (on_track -> at_risk -> breached, or straight to breached when the job did not run in
  between: then ``at_risk_at`` stays empty). Each mark sets ``at_risk_at``/``breached_at`` to ``now``, adds a
  ticket event of kind "sla" and an activity entry by the job. Running again with the same or an earlier
  ``now`` finds nothing more to mark, so a re-delivered job changes nothing. Two runs at once on PostgreSQL:
  the second's UPDATE waits for the first's row locks and re-checks ``sla_state``, so each mark is made once.
* resolved, closed and cancelled tickets are never marked: their ``sla_state`` is what it was when they left
  the active states. Reports judge a resolved ticket by ``resolved_at > sla_due_at`` (late = breached),
  whatever its mark, because the job runs every 15 minutes and a ticket can be resolved late in between.
* reopening keeps the ticket's original ``opened_at`` and ``sla_due_at`` and its mark: the device has been
  broken since the first signal, and a fix that did not hold does not restart the clock. A reopened ticket
  already past its due time is marked breached by the next run.
"""
import datetime as dt
from decimal import Decimal

from flask import current_app
from sqlalchemy import Numeric, extract, func, insert, literal, update

from .. import activity
from ..activity import Activity
from ..extensions import db
from ..types import UTCDateTime
from .models import ACTIVE_STATES, Ticket, TicketEvent

# (from, to) in the order they are applied: a ticket already past due goes straight to breached.
MARKS = (("at_risk", "breached"), ("on_track", "breached"), ("on_track", "at_risk"))


def at(value):
    """``value`` (an aware datetime) as a bound SQL timestamp, for arithmetic against the ticket's columns."""
    return literal(value, UTCDateTime())


def seconds_between(start, end):
    """SQL for ``end - start`` in seconds (numeric on PostgreSQL, float on SQLite)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _due(to, now):
    """The SQL condition under which an active ticket deserves the mark ``to`` at ``now``."""
    if to == "breached":
        return Ticket.sla_due_at < now
    share = literal(Decimal(str(current_app.config["TICKET_AT_RISK_SHARE"])), Numeric(6, 4))
    used = func.round(seconds_between(Ticket.opened_at, at(now)), 3)
    threshold = func.round(share * seconds_between(Ticket.opened_at, Ticket.sla_due_at), 3)
    return used >= threshold


def _mark(frm, to, now):
    """Move every active ticket marked ``frm`` that deserves ``to``; returns [(id, sla_due_at)] of those moved."""
    stamp = {"breached": Ticket.breached_at, "at_risk": Ticket.at_risk_at}[to]
    stmt = (
        update(Ticket)
        .where(Ticket.state.in_(ACTIVE_STATES), Ticket.sla_state == frm, _due(to, now))
        .values({Ticket.sla_state: to, stamp: now})
        .returning(Ticket.id, Ticket.sla_due_at)
        .execution_options(synchronize_session=False)
    )
    return db.session.execute(stmt).all()


def _record(frm, to, moved, now):
    """One "sla" event and one activity entry per moved ticket, each in a single INSERT."""
    actor = activity.actor_label()
    events = [{"ticket_id": ticket_id, "kind": "sla", "at": now, "actor": actor,
               "data": {"sla_state": to, "previous": frm, "sla_due_at": due.isoformat()}} for ticket_id, due in moved]
    entries = [{"at": now, "actor": actor, "action": f"sla:{frm}->{to}", "entity_type": Ticket.__tablename__,
                "entity_id": str(ticket_id), "before": {"sla_state": frm},
                "after": {"sla_state": to, f"{to}_at": now.isoformat()}} for ticket_id, _due in moved]
    db.session.execute(insert(TicketEvent), events)
    db.session.execute(insert(Activity), entries)


def mark_sla(now):
    """Mark at-risk and breached tickets as of ``now`` (aware datetime) and commit; returns the counts marked."""
    if now.tzinfo is None:
        raise ValueError("naive datetime given; use timezone-aware UTC")
    now = now.astimezone(dt.timezone.utc)
    counts = {"at_risk": 0, "breached": 0}
    for frm, to in MARKS:
        moved = _mark(frm, to, now)
        if moved:
            _record(frm, to, moved, now)
            counts[to] += len(moved)
    db.session.commit()  # also expires the session's tickets, which the UPDATEs changed behind its back
    return counts
