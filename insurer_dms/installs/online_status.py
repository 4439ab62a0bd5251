"""Processing one online-status export: match rows to installed devices, record sightings, connect orders.

Set-based: every current installation with its SIM number and plate is loaded once into dictionaries; the
rows are matched in memory; the sightings are written with one bulk update; rows that match nothing are
kept on the import with their row number, value and reason.
"""
import re

from sqlalchemy import and_, select, update

from .. import activity
from ..extensions import db
from ..fleet.identifiers import plate_number
from ..fleet.models import Truck
from ..imports import read_table
from ..sims.models import Sim, SimAssignment
from ..storage import storage
from ..types import utcnow
from .access import connect_order, online_columns, parse_time
from .models import Installation, OnlineStatusImport, WorkOrder

# Why a row matched no installed device (shown on the import page).
UNMATCHED_REASONS = {
    "no_number_or_plate": "The row has neither a terminal phone number nor a plate.",
    "unknown_number": "No SIM of ours has this terminal phone number.",
    "unknown_plate": "No truck of ours has this plate.",
    "not_installed": "Known, but no device is installed with it now.",
    "unparsable_time": "The last-online time is missing or unreadable.",
    "seen_before_install": "Last online before the device was installed on this truck.",
}
_IN_CHUNK = 500  # keep IN lists well under SQLite's bound-parameter limit


def normal_msisdn(text):
    """Digits only; JT/T 808 pads the terminal phone number with leading zeros (BCD) and some exports add 86."""
    digits = re.sub(r"\D", "", str(text or "")).lstrip("0")
    if len(digits) == 13 and digits.startswith("861"):  # +86 and an 11-digit mobile number
        digits = digits[2:]
    return digits


def normal_plate(text):
    text = str(text or "").strip()
    if not text:
        return ""
    try:
        return plate_number(text)
    except ValueError:
        return text.upper()


def _cell(cells, index):
    return cells[index] if index is not None and index < len(cells) else ""


def _installed():
    """({msisdn: installation}, {plate: installation}) for every current installation, from one query."""
    rows = db.session.execute(
        select(Installation.id, Installation.work_order_id, Installation.installed_at, Installation.first_seen_at,
               Installation.last_seen_at, Sim.msisdn, Truck.plate)
        .join(Truck, Truck.id == Installation.truck_id)
        .outerjoin(SimAssignment, and_(SimAssignment.device_id == Installation.device_id, SimAssignment.ended_at.is_(None)))
        .outerjoin(Sim, Sim.id == SimAssignment.sim_id)
        .where(Installation.removed_at.is_(None))
    ).all()
    by_msisdn = {normal_msisdn(r.msisdn): r for r in rows if r.msisdn}
    by_plate = {r.plate: r for r in rows}
    return by_msisdn, by_plate


def _known(column, values):
    found = set()
    values = sorted(v for v in values if v)
    for start in range(0, len(values), _IN_CHUNK):
        found.update(db.session.scalars(select(column).where(column.in_(values[start:start + _IN_CHUNK]))))
    return found


def _unknown_reasons(rows):
    """Reasons for rows matching no installation: a SIM or truck we know without a device now, or unknown."""
    numbers = {normal_msisdn(n) for n in _known(Sim.msisdn, {phone for _r, phone, _p in rows})}
    plates = _known(Truck.plate, {plate for _r, _n, plate in rows})
    out = []
    for row_no, phone, plate in rows:
        if (phone and phone in numbers) or (plate and plate in plates):
            reason = "not_installed"
        else:
            reason = "unknown_number" if phone else "unknown_plate"
        out.append({"row": row_no, "value": phone or plate, "reason": reason})
    return out


def process(item):
    """Process ``item`` (an OnlineStatusImport) in one transaction; commits with status done."""
    headers, body = read_table(storage().get(item.object_key), item.filename)
    columns = online_columns(headers)
    by_msisdn, by_plate = _installed()
    seen, unmatched, unknown, matched = {}, [], [], 0
    for row_no, cells in body:
        phone = normal_msisdn(_cell(cells, columns.get("msisdn")))
        plate = normal_plate(_cell(cells, columns.get("plate")))
        if not phone and not plate:
            unmatched.append({"row": row_no, "value": "", "reason": "no_number_or_plate"})
            continue
        found = (by_msisdn.get(phone) if phone else None) or (by_plate.get(plate) if plate else None)
        if found is None:
            unknown.append((row_no, phone, plate))
            continue
        raw_time = _cell(cells, columns["last_online"])
        at = parse_time(raw_time)
        if at is None:
            unmatched.append({"row": row_no, "value": raw_time, "reason": "unparsable_time"})
            continue
        if at < found.installed_at:
            unmatched.append({"row": row_no, "value": phone or plate, "reason": "seen_before_install"})
            continue
        matched += 1
        low, high = seen.get(found.id, (at, at))
        seen[found.id] = (min(low, at), max(high, at))
    unmatched = sorted(unmatched + _unknown_reasons(unknown), key=lambda u: u["row"])

    installations = {r.id: r for r in by_plate.values()}
    changes = []
    for installation_id, (low, high) in seen.items():
        current = installations[installation_id]
        first = min(low, current.first_seen_at) if current.first_seen_at else low
        last = max(high, current.last_seen_at) if current.last_seen_at else high
        if (first, last) != (current.first_seen_at, current.last_seen_at):
            changes.append({"id": installation_id, "first_seen_at": first, "last_seen_at": last})
    if changes:
        db.session.execute(update(Installation), changes)

    connected = _connect_seen_orders({installations[i].work_order_id: low for i, (low, _h) in seen.items()})
    item.status, item.rows, item.matched, item.connected = "done", len(body), matched, connected
    item.unmatched, item.error, item.finished_at = unmatched, None, utcnow()
    activity.record("import", item, after=summary(item), note=item.filename)
    db.session.commit()
    return item


def _connect_seen_orders(first_seen_by_order):
    """Installed orders whose device was seen -> connected (source platform); returns how many moved."""
    if not first_seen_by_order:
        return 0
    moved = 0
    ids = sorted(first_seen_by_order)
    for start in range(0, len(ids), _IN_CHUNK):
        orders = db.session.scalars(
            select(WorkOrder).where(WorkOrder.id.in_(ids[start:start + _IN_CHUNK]), WorkOrder.state == "installed")
            .with_for_update()
        ).all()
        for order in orders:
            moved += connect_order(order, first_seen_by_order[order.id], "platform")
    return moved


def fail(import_id, err):
    """Record why an import could not be processed (its own transaction)."""
    item = db.session.get(OnlineStatusImport, import_id)
    message = getattr(err, "message", None) or str(err) or err.__class__.__name__
    item.status, item.error, item.finished_at = "failed", message[:2000], utcnow()
    activity.record("import", item, after={"status": "failed"}, note=message[:500])
    db.session.commit()


def summary(item):
    return {"id": item.id, "status": item.status, "rows": item.rows, "matched": item.matched, "connected": item.connected,
            "unmatched": len(item.unmatched or []), "error": item.error}
