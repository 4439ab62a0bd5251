"""Signals that a device is dark, turned into ``device_offline`` tickets (``tickets.signal`` folds repeats).

**Zero usage** (``zero_usage_signals``, job ``jobs.maintenance_signals.statement_zero_usage``, enqueued after each
successful reconciliation): every result of the statement flagged ``zero_usage_installed`` signals its truck's
active device_offline ticket, or opens one (source ``zero_usage``, device = the truck's current device; a truck with
no device any more is skipped). A statement that is not ``done`` (still running, failed, superseded by a newer
version) signals nothing. The event data name the statement; a truck that already has an event from this statement
or another version of the same carrier and month, on any of its device_offline tickets, is not signalled again, so
re-running the job or the reconciliation, or resolving the ticket in between, never doubles or reopens anything.

**Platform offline** (``offline_sweep``, job ``jobs.maintenance_signals.offline_sweep``: hourly by cron and after
each online-status import). A device is *connected* once the platform has seen it (``installation.last_seen_at``)
or its installing work order was confirmed connected (``connected_at``); its last sign of life is the later of that
sighting and the last repair of a device_offline ticket on the truck (a resolution other than ``back_online``: a
technician's fix restarts the clock). Unseen for more than ``OFFLINE_TICKET_DAYS`` days since then -> a
device_offline signal (source ``platform_offline``) carrying ``unseen_since``; the same ``unseen_since`` is never
signalled twice, on any ticket, so a sweep every hour adds nothing and a cancelled ticket stays cancelled.
Devices never seen and never confirmed are not signalled: the installs "never seen online" list is where
unfinished data access is followed up.

**Back online**: an active device_offline ticket whose truck's device was seen within the last
``OFFLINE_TICKET_DAYS`` days, later than the evidence of the ticket's newest signal (a platform signal's
``unseen_since``; for other sources the signal's time), gets a ``note`` event with ``seen_at``; if nobody worked on
it (state open or assigned, ``work_started_at`` empty) it is resolved automatically as ``back_online``.
"""
import datetime as dt
import re

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from .. import activity
from ..extensions import db
from ..installs.models import Installation, WorkOrder
from ..labels import named
from ..sims.models import HELD_STATES, ReconciliationResult, Statement
from ..times import local_time
from ..types import utcnow
from . import tickets
from .models import ACTIVE_STATES, Ticket, TicketEvent

OFFLINE = "device_offline"
BATCH = 500  # trucks per transaction (and per IN list: well under SQLite's bound-parameter limit)


def _chunks(items, size=BATCH):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _local(moment):
    return local_time(moment)


def _active_tickets(truck_ids):
    """{truck_id: id of its active device_offline ticket} for ``truck_ids``, rows locked (one query)."""
    return dict(db.session.execute(
        select(Ticket.truck_id, Ticket.id)
        .where(Ticket.truck_id.in_(truck_ids), Ticket.category == OFFLINE, Ticket.state.in_(ACTIVE_STATES))
        .with_for_update()
    ).all())


def _fold_many(folds, source, at):
    """The fold of ``tickets.signal`` for many locked tickets: [(ticket_id, note, data)] -> one UPDATE, one INSERT."""
    db.session.execute(
        update(Ticket).where(Ticket.id.in_([ticket_id for ticket_id, _note, _data in folds]))
        .values(signal_count=Ticket.signal_count + 1, last_signal_at=at, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    actor, user_id = activity.actor_label(), tickets._user_id()
    db.session.execute(insert(TicketEvent), [
        {"ticket_id": ticket_id, "kind": "signal", "source": source, "note": note, "data": activity.jsonable(data),
         "at": at, "actor": actor, "user_id": user_id}
        for ticket_id, note, data in folds])


def _signal_many(signals, source, at):
    """Signal device_offline for ``signals`` [(truck_id, device_id, note, data)], one per truck (no commit).

    Folds into the trucks' active tickets (locked in one query) and opens the others together; if a concurrent
    signal opened one of them meanwhile (the partial unique index refuses the batch), they go one by one through
    ``tickets.signal``. Returns (opened, updated).
    """
    active = _active_tickets([truck_id for truck_id, *_rest in signals])
    folds = [(active[truck_id], note, data) for truck_id, _device, note, data in signals if truck_id in active]
    if folds:
        _fold_many(folds, source, at)
    new = [s for s in signals if s[0] not in active]
    if not new:
        return 0, len(signals)
    try:
        with db.session.begin_nested():
            tickets.open_tickets(new, OFFLINE, source, at=at)
        return len(new), len(signals) - len(new)
    except IntegrityError:
        opened = 0
        for truck_id, device_id, note, data in new:
            opened += tickets.signal(truck_id, OFFLINE, source, note=note, data=data, device_id=device_id, at=at)[1]
        return opened, len(signals) - opened


# ---------------------------------------------------------------- zero usage on a carrier statement


def _signalled_by(statement_ids):
    """Trucks with a zero-usage event from one of ``statement_ids`` on any device_offline ticket."""
    return set(db.session.scalars(
        select(Ticket.truck_id).join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .where(Ticket.category == OFFLINE, TicketEvent.source == "zero_usage",
               TicketEvent.data["statement_id"].as_integer().in_(statement_ids))
        .distinct()
    ))


def _zero_usage_trucks(statement_id):
    """[(truck_id, device_id now, iccid, line_id)]: one per truck (its first line), trucks with a device now."""
    rows = db.session.execute(
        select(ReconciliationResult.truck_id, Installation.device_id, ReconciliationResult.iccid,
               ReconciliationResult.line_id)
        .join(Installation, and_(Installation.truck_id == ReconciliationResult.truck_id, Installation.removed_at.is_(None)))
        .where(ReconciliationResult.statement_id == statement_id, ReconciliationResult.zero_usage_installed.is_(True))
        .order_by(ReconciliationResult.truck_id, ReconciliationResult.line_id)
    ).all()
    first = {}
    for row in rows:
        first.setdefault(row.truck_id, row)
    return list(first.values())


def zero_usage_signals(statement_id, at=None):
    """Signal a device_offline ticket per truck whose device used 0 KB on the statement; commits per batch.

    Returns {"statement_id", "status", "trucks", "opened", "updated", "already"}.
    """
    at = at or utcnow()
    result = {"statement_id": statement_id, "status": None, "trucks": 0, "opened": 0, "updated": 0, "already": 0}
    statement = db.session.get(Statement, statement_id)
    if statement is None:
        result["status"] = "missing"
        return result
    versions = db.session.execute(
        select(Statement.id, Statement.version, Statement.status).where(Statement.carrier == statement.carrier,
                                                                        Statement.period == statement.period)
    ).all()
    newer = any(v.version > statement.version and v.status not in HELD_STATES for v in versions)  # held: not newer
    result["status"] = "superseded" if newer else statement.status
    if newer or statement.status != "done":
        return result
    rows = _zero_usage_trucks(statement_id)
    done = _signalled_by([v.id for v in versions])
    todo = [r for r in rows if r.truck_id not in done]
    result.update(trucks=len(rows), already=len(rows) - len(todo))
    for batch in _chunks(todo):
        signals = [(row.truck_id, row.device_id,
                    f"No data used on the {statement.carrier} statement for {statement.period} (SIM {row.iccid}): "
                    "the device is probably offline.",
                    {"statement_id": statement.id, "carrier": statement.carrier, "period": statement.period,
                     "iccid": row.iccid, "line_id": row.line_id})
                   for row in batch]
        opened, updated = _signal_many(signals, "zero_usage", at)
        result["opened"] += opened
        result["updated"] += updated
        db.session.commit()  # a batch at a time: a re-run skips what is done (the events name the statement)
    return result


# ---------------------------------------------------------------- the platform's sightings


def _evidence_time(event):
    """The moment a ticket's event says the device was known to be dark (or, for a sighting, seen)."""
    data = event.data or {}
    if event.kind == "note":
        return dt.datetime.fromisoformat(data["seen_at"]) if data.get("seen_at") else None
    if event.source == "platform_offline" and data.get("unseen_since"):
        return dt.datetime.fromisoformat(data["unseen_since"])
    return event.at


def _back_online(now, cutoff):
    """Active device_offline tickets whose device was seen since their newest signal: event, maybe resolved."""
    candidates = db.session.execute(
        select(Ticket, Installation.id, Installation.last_seen_at)
        .join(Installation, and_(Installation.truck_id == Ticket.truck_id, Installation.removed_at.is_(None)))
        .where(Ticket.category == OFFLINE, Ticket.state.in_(ACTIVE_STATES), Installation.last_seen_at >= cutoff)
        .order_by(Ticket.id).with_for_update(of=Ticket)
    ).all()
    seen, resolved = 0, 0
    for chunk in _chunks(candidates):
        evidence = {}
        events = db.session.scalars(select(TicketEvent).where(
            TicketEvent.ticket_id.in_([c[0].id for c in chunk]),
            or_(TicketEvent.kind.in_(("created", "signal")),
                and_(TicketEvent.kind == "note", TicketEvent.source == "platform_offline"))))
        for event in events:
            moment = _evidence_time(event)
            if moment is not None:
                evidence[event.ticket_id] = max(moment, evidence.get(event.ticket_id, moment))
        for ticket, installation_id, last_seen in chunk:
            if last_seen <= evidence[ticket.id]:
                continue
            seen += 1
            tickets.add_event(ticket, "note", note=f"Seen online by the platform again at {_local(last_seen)}.",
                              data={"seen_at": last_seen, "installation_id": installation_id},
                              source="platform_offline", at=now)
            if ticket.work_started_at is None and ticket.state in ("open", "assigned"):
                tickets.enter_state(ticket, "resolved", note="Back online: nobody had started work on it.", at=now,
                                    resolution="back_online",
                                    resolution_note=f"Seen online by the platform at {_local(last_seen)}.")
                resolved += 1
    return seen, resolved


def _unseen(cutoff):
    """Current installations of connected devices with no sign of life since before ``cutoff``, with that time."""
    repaired = (
        select(Ticket.truck_id, func.max(Ticket.resolved_at).label("repaired_at"))
        .where(Ticket.category == OFFLINE, Ticket.resolved_at.is_not(None), Ticket.resolution != "back_online")
        .group_by(Ticket.truck_id).subquery()
    )
    alive = func.coalesce(Installation.last_seen_at, WorkOrder.connected_at)
    rows = db.session.execute(
        select(Installation.id, Installation.truck_id, Installation.device_id, Installation.last_seen_at,
               alive.label("alive_at"), repaired.c.repaired_at)
        .join(WorkOrder, WorkOrder.id == Installation.work_order_id)
        .outerjoin(repaired, repaired.c.truck_id == Installation.truck_id)
        .where(Installation.removed_at.is_(None), alive.is_not(None), alive < cutoff,
               or_(repaired.c.repaired_at.is_(None), repaired.c.repaired_at < cutoff))
        .order_by(Installation.truck_id)
    ).all()
    return [(r, max(r.alive_at, r.repaired_at) if r.repaired_at else r.alive_at) for r in rows]


def _platform_signals(truck_ids):
    """{(installation_id, unseen_since iso)} already signalled on any device_offline ticket of ``truck_ids``."""
    data = db.session.scalars(
        select(TicketEvent.data).join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(Ticket.truck_id.in_(truck_ids), Ticket.category == OFFLINE, TicketEvent.source == "platform_offline",
               TicketEvent.kind.in_(("created", "signal")))
    )
    return {(d.get("installation_id"), d.get("unseen_since")) for d in data if d}


def offline_sweep(now=None):
    """Open or update device_offline tickets for devices unseen too long; note and resolve those seen again.

    ``now`` (aware datetime) is the clock, for tests. Commits per batch; returns the counts.
    """
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=current_app.config["OFFLINE_TICKET_DAYS"])
    seen, resolved = _back_online(now, cutoff)
    db.session.commit()
    result = {"now": now, "back_online": seen, "resolved": resolved, "unseen": 0, "opened": 0, "updated": 0}
    unseen = _unseen(cutoff)
    result["unseen"] = len(unseen)
    for batch in _chunks(unseen):
        done = _platform_signals([row.truck_id for row, _since in batch])
        signals = [(row.truck_id, row.device_id, f"Not seen by the provincial platform since {_local(since)}.",
                    {"installation_id": row.id, "unseen_since": since, "last_seen_at": row.last_seen_at})
                   for row, since in batch if (row.id, since.isoformat()) not in done]
        if signals:
            opened, updated = _signal_many(signals, "platform_offline", now)
            result["opened"] += opened
            result["updated"] += updated
        db.session.commit()
    return result


# ---------------------------------------------------------------- the sentences above, as a page shows them

_WHEN = r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2})"
_STORED = (
    (re.compile(r"No data used on the (\w+) statement for (\d{4}-\d{2}) \(SIM (\d+)\): the device is probably offline\."),
     lambda m: _("No data used on the %(carrier)s statement for %(period)s (SIM %(iccid)s): the device is probably offline.",
                 carrier=named("carrier", m[1]), period=m[2], iccid=m[3])),
    (re.compile(r"Not seen by the provincial platform since " + _WHEN + r"\."),
     lambda m: _("Not seen by the provincial platform since %(when)s.", when=m[1])),
    (re.compile(r"Seen online by the platform again at " + _WHEN + r"\."),
     lambda m: _("Seen online by the platform again at %(when)s.", when=m[1])),
    (re.compile(r"Seen online by the platform at " + _WHEN + r"\."),
     lambda m: _("Seen online by the platform at %(when)s.", when=m[1])),
    (re.compile(r"Back online: nobody had started work on it\."), lambda m: _("Back online: nobody had started work on it.")),
)


def shown(text):
    """A ticket's description or note as a page shows it: a sentence the signals wrote (stored in English, the
    default language of jobs) in the user's language; anything a person typed as it is."""
    for pattern, render in _STORED:
        if text and (match := pattern.fullmatch(text)) is not None:
            return render(match)
    return text
