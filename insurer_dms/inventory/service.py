"""Procurement and inventory rules: purchase orders, receiving devices and the device state machine."""
import datetime as dt
from collections import Counter, defaultdict
from flask_babel import lazy_gettext as _l
from zoneinfo import ZoneInfo

import marshmallow as ma
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from .. import activity, notes
from ..catalogue.models import CatalogueEntry
from ..errors import Conflict, Invalid, NotFound, invalid
from ..extensions import db
from ..transactions import commit_or_conflict, race_guard
from ..imports import RowErrors, load_rows
from ..labels import named
from ..ledger import service as ledger
from .models import DEVICE_STATES, Device, DeviceEvent, PurchaseOrder, PurchaseOrderLine
from .schemas import DEVICE_ROW_ALIASES, DeviceRowSchema, RawDeviceRowSchema

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# ---- the device state machine ------------------------------------------------------------------------

# Every legal move; anything else is refused. ``retired`` is terminal.
TRANSITIONS = {
    "in_stock": ("reserved", "installed", "faulty", "retired"),
    "reserved": ("in_stock", "installed", "faulty"),
    "installed": ("in_stock", "faulty", "retired"),
    "faulty": ("in_repair", "retired"),
    "in_repair": ("in_stock", "retired", "faulty"),
    "retired": (),
}
# A device goes onto or comes off a truck only through an installation work order (it records the truck).
WORK_ORDER_STATE = "installed"

IDENTIFIERS = {"serial": _l("Serial"), "terminal_id": _l("Terminal ID"), "imei": _l("IMEI")}


def legal_targets(status):
    """The states a device in ``status`` may move to by any means."""
    return list(TRANSITIONS.get(status, ()))


def manual_targets(status):
    """The states an operator may move a device to by hand (never into or out of installed)."""
    if status == WORK_ORDER_STATE:
        return []
    return [s for s in legal_targets(status) if s != WORK_ORDER_STATE]


def move_device(device, to, note=None, via_work_order=False):
    """Move ``device`` to state ``to`` in the current transaction (no commit); the one gate for state changes."""
    frm = device.status
    if to not in DEVICE_STATES:
        raise invalid("to", _l("Unknown device state '%(state)s'; one of %(states)s.", state=to, states=", ".join(DEVICE_STATES)))
    if to not in TRANSITIONS[frm]:
        message = _l("A device cannot go from %(frm)s to %(to)s.", frm=named("device_state", frm), to=named("device_state", to))
        raise Conflict(message, {"to": [message]})
    if WORK_ORDER_STATE in (frm, to) and not via_work_order:
        into = to == WORK_ORDER_STATE
        message = (_l("Only an installation work order moves a device into installed; %(frm)s -> %(to)s cannot be done by hand.",
                      frm=named("device_state", frm), to=named("device_state", to)) if into else
                   _l("Only an installation work order moves a device out of installed; %(frm)s -> %(to)s cannot be done by hand.",
                      frm=named("device_state", frm), to=named("device_state", to)))
        raise Conflict(message, {"to": [message]})
    device.status = to
    db.session.add(DeviceEvent(device=device, from_status=frm, to_status=to, actor=activity.actor_label(), note=note))
    activity.record(f"state:{frm}->{to}", device, before={"status": frm}, after={"status": to}, note=note)
    return device


def transition_device(device_id, to, note=None):
    """An operator's manual state change of one device; commits."""
    device = get_device(device_id, lock=True)
    move_device(device, to, note)
    db.session.commit()
    return device


# ---- look-ups and lists ------------------------------------------------------------------------------


def today():
    """The date in Chaozhou."""
    return dt.datetime.now(LOCAL_TZ).date()


def get_purchase_order(po_id):
    po = db.session.get(PurchaseOrder, po_id)
    if po is None:
        raise NotFound(_l("No purchase order %(id)s.", id=po_id))
    return po


def get_device(device_id, lock=False):
    stmt = select(Device).where(Device.id == device_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    device = db.session.scalar(stmt)
    if device is None:
        raise NotFound(_l("No device %(id)s.", id=device_id))
    return device


def purchase_orders_query(q=None, supplier=None, date_from=None, date_to=None):
    """Purchase orders matching the filters, newest first."""
    stmt = select(PurchaseOrder).options(selectinload(PurchaseOrder.lines))
    if q:
        stmt = stmt.where(or_(PurchaseOrder.number.icontains(q, autoescape=True), PurchaseOrder.supplier.icontains(q, autoescape=True)))
    if supplier:
        stmt = stmt.where(PurchaseOrder.supplier.icontains(supplier, autoescape=True))
    if date_from:
        stmt = stmt.where(PurchaseOrder.order_date >= date_from)
    if date_to:
        stmt = stmt.where(PurchaseOrder.order_date <= date_to)
    return stmt.order_by(PurchaseOrder.order_date.desc(), PurchaseOrder.id.desc())


def devices_query(status=None, catalogue_entry_id=None, purchase_order_id=None, q=None):
    """Devices matching the filters, newest first."""
    stmt = select(Device).options(
        selectinload(Device.catalogue_entry), selectinload(Device.po_line).selectinload(PurchaseOrderLine.purchase_order)
    )
    if status:
        stmt = stmt.where(Device.status == status)
    if catalogue_entry_id:
        stmt = stmt.where(Device.catalogue_entry_id == catalogue_entry_id)
    if purchase_order_id:
        stmt = stmt.where(Device.po_line_id.in_(select(PurchaseOrderLine.id).where(PurchaseOrderLine.purchase_order_id == purchase_order_id)))
    if q:
        q = q.strip()
        stmt = stmt.where(or_(*(col.icontains(q, autoescape=True) for col in (Device.serial, Device.terminal_id, Device.imei))))
    return stmt.order_by(Device.id.desc())


def catalogue_choices():
    """Catalogue entries for the order form, withdrawn ones last (the order date decides what is allowed)."""
    entries = db.session.scalars(select(CatalogueEntry).order_by(CatalogueEntry.manufacturer, CatalogueEntry.model_code)).all()
    return sorted(entries, key=lambda e: e.withdrawn_on is not None)


# ---- purchase orders ---------------------------------------------------------------------------------


def create_purchase_order(data):
    """Create a purchase order with its lines; every line is checked against the catalogue first."""
    number = data["number"]
    if db.session.scalar(select(PurchaseOrder.id).where(PurchaseOrder.number == number)) is not None:
        raise Conflict(_l("Purchase order %(number)s already exists.", number=number),
                       {"number": [_l("Purchase order %(number)s already exists.", number=number)]})
    errors = _line_errors(data["order_date"], data["lines"])
    if errors:
        bad = len({key.split(".")[1] for key in errors})
        raise Invalid(_l("%(count)s line(s) cannot be ordered; nothing was stored.", count=bad), errors)

    po = PurchaseOrder(
        number=number,
        supplier=data["supplier"],
        order_date=data["order_date"],
        note=data.get("note"),
        created_by_id=current_user.id if current_user and current_user.is_authenticated else None,
    )
    for i, line in enumerate(data["lines"]):
        po.lines.append(
            PurchaseOrderLine(line_no=i + 1, catalogue_entry_id=line["catalogue_entry_id"], quantity=line["quantity"], unit_price=line["unit_price"])
        )
    db.session.add(po)
    with race_guard():  # the number taken at the same moment: "Purchase order ... already exists."
        db.session.flush()
        activity.record("create", po, after={**activity.snapshot(po), "lines": [activity.snapshot(line) for line in po.lines]})
        db.session.commit()
    return po


def _line_errors(order_date, lines):
    """Field errors for lines whose entry is unknown, not orderable on the date, or priced above the bid."""
    ids = {line["catalogue_entry_id"] for line in lines}
    entries = {e.id: e for e in db.session.scalars(select(CatalogueEntry).where(CatalogueEntry.id.in_(ids)))}
    errors = {}
    for i, line in enumerate(lines):
        entry = entries.get(line["catalogue_entry_id"])
        if entry is None:
            errors[f"lines.{i}.catalogue_entry_id"] = [_l("There is no catalogue entry %(id)s.", id=line["catalogue_entry_id"])]
            continue
        reason = entry.usable_on(order_date)
        if reason:
            errors[f"lines.{i}.catalogue_entry_id"] = [_l("%(entry)s cannot be ordered on %(day)s: %(reason)s.", entry=entry.label,
                                                               day=order_date.isoformat(), reason=reason)]
        if line["unit_price"] > entry.bid_unit_price:
            errors[f"lines.{i}.unit_price"] = [
                _l("Unit price %(price)s is above the bid unit price %(bid)s of %(entry)s.", price=f"{line['unit_price']:.2f}",
                   bid=f"{entry.bid_unit_price:.2f}", entry=entry.label)
            ]
    return errors


# ---- receiving ---------------------------------------------------------------------------------------


def _received_counts(line_ids):
    rows = db.session.execute(
        select(Device.po_line_id, func.count(Device.id)).where(Device.po_line_id.in_(line_ids)).group_by(Device.po_line_id)
    )
    return defaultdict(int, {line_id: count for line_id, count in rows})


def _existing_identifiers(items):
    """The serials, terminal IDs and IMEIs among ``items`` that are already registered."""
    found = {}
    for field in IDENTIFIERS:
        column = getattr(Device, field)
        values = sorted({item[field] for item in items if item.get(field)})
        hits = set()
        for start in range(0, len(values), 500):
            hits.update(db.session.scalars(select(column).where(column.in_(values[start : start + 500]))))
        found[field] = hits
    return found


def _lock_lines(po, line_id=None):
    # Row locks serialise concurrent receipts against the same line, so the quantity cannot be overrun.
    stmt = select(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id == po.id)
    if line_id is not None:
        stmt = stmt.where(PurchaseOrderLine.id == line_id)
    return db.session.scalars(stmt.with_for_update().execution_options(populate_existing=True)).all()


def _over_receipt_message(line, received, this_receipt):
    return _l("Line %(line)s ordered %(ordered)s, %(received)s already received, this receipt %(receipt)s: at most %(left)s "
              "more can be received.", line=line.line_no, ordered=line.quantity, received=received, receipt=this_receipt,
              left=line.quantity - received)


@race_guard()  # a serial, terminal ID or IMEI registered by another receipt at the same moment: 409
def receive_devices(po, line_id, devices, received_on=None):
    """Register devices received against one line of ``po``; all or nothing; commits."""
    lines = _lock_lines(po, line_id)
    if not lines:
        raise invalid("line_id", _l("Purchase order %(number)s has no line with id %(id)s.", number=po.number, id=line_id))
    line = lines[0]
    errors, clashes = {}, {}
    for field, label in IDENTIFIERS.items():
        seen = {}
        for i, item in enumerate(devices):
            value = item.get(field)
            if value is None:
                continue
            if value in seen:
                errors[f"devices.{i}.{field}"] = [_l("%(label)s %(value)s appears twice in this receipt (also devices.%(other)s).",
                                                        label=label, value=value, other=seen[value])]
            else:
                seen[value] = i
    existing = _existing_identifiers(devices)
    for i, item in enumerate(devices):
        for field, label in IDENTIFIERS.items():
            if item.get(field) in existing[field]:
                clashes[f"devices.{i}.{field}"] = [_l("%(label)s %(value)s is already registered.", label=label, value=item[field])]
    received = _received_counts([line.id])[line.id]
    if received + len(devices) > line.quantity:
        errors["devices"] = [_over_receipt_message(line, received, len(devices))]
    if errors:
        raise Invalid(_l("The receipt was refused; nothing was stored."), {**errors, **clashes})
    if clashes:
        raise Conflict(_l("Some devices are already registered; nothing was stored."), clashes)
    stored = _store(po, line, devices, received_on or today())
    _commit_receipt()
    return {"received": len(stored), "by_line": {str(line.line_no): len(stored)}, "device_ids": [d.id for d in stored]}


@race_guard()
def receive_from_file(po, data, filename, received_on=None):
    """Register the devices listed in a CSV/XLSX file against the lines of ``po``; all or nothing; commits."""
    # Read the cells as text first, so bad values and clashes between rows are reported together.
    raw_rows = load_rows(data, filename, RawDeviceRowSchema(), DEVICE_ROW_ALIASES, required=["line_no", "serial", "terminal_id"])
    errors = RowErrors()
    rows = []
    for number, raw in raw_rows:
        try:
            rows.append((number, DeviceRowSchema().load(raw)))
        except ma.ValidationError as err:
            for field, messages in sorted(err.messages.items()):
                for message in messages:
                    errors.add(number, field, message)
    lines = {line.line_no: line for line in _lock_lines(po)}
    received = _received_counts([line.id for line in lines.values()])
    for field, label in IDENTIFIERS.items():
        first = {}
        for number, item in rows:
            value = item.get(field)
            if value is None:
                continue
            if value in first:
                errors.add(number, field, _l("%(label)s %(value)s is also on row %(row)s of this file.", label=label, value=value,
                                             row=first[value]))
            else:
                first[value] = number
    existing = _existing_identifiers([item for _, item in rows])
    for number, item in rows:
        for field, label in IDENTIFIERS.items():
            if item.get(field) in existing[field]:
                errors.add(number, field, _l("%(label)s %(value)s is already registered.", label=label, value=item[field]))
    in_file = Counter(item["line_no"] for _, item in rows)
    taken = Counter()
    for number, item in rows:
        line = lines.get(item["line_no"])
        if line is None:
            errors.add(number, "line_no", _l("Purchase order %(number)s has no line %(line)s.", number=po.number, line=item["line_no"]))
            continue
        taken[line.line_no] += 1
        if received[line.id] + taken[line.line_no] > line.quantity:
            errors.add(number, "line_no", _l("Over-receipt: %(detail)s",
                                              detail=_over_receipt_message(line, received[line.id], in_file[line.line_no])))
    errors.raise_if_any()

    by_line, ids = {}, []
    grouped = defaultdict(list)
    for _, item in rows:
        grouped[item["line_no"]].append(item)
    for line_no, items in sorted(grouped.items()):
        stored = _store(po, lines[line_no], items, received_on or today(), source=filename)
        by_line[str(line_no)] = len(stored)
        ids.extend(d.id for d in stored)
    _commit_receipt()
    return {"received": len(ids), "by_line": by_line, "device_ids": ids}


def _store(po, line, items, received_on, source=None):
    """Add the received devices of one line, each with its first history event and activity entry."""
    devices = [
        Device(
            serial=item["serial"],
            terminal_id=item["terminal_id"],
            imei=item.get("imei"),
            catalogue_entry_id=line.catalogue_entry_id,
            po_line_id=line.id,
            status="in_stock",
            received_on=received_on,
        )
        for item in items
    ]
    db.session.add_all(devices)
    db.session.flush()
    actor = activity.actor_label()
    values = {"number": po.number, "line": line.line_no}
    note = (notes.write("Received on purchase order %(number)s, line %(line)s (file %(file)s).", **values, file=source)
            if source else notes.write("Received on purchase order %(number)s, line %(line)s.", **values))
    for device in devices:
        db.session.add(DeviceEvent(device_id=device.id, from_status=None, to_status="in_stock", actor=actor, note=note))
        activity.record("receive", device, after=activity.snapshot(device), note=note)
    ledger.book_device_purchases(devices, line, received_on)  # the purchase cost, in the receipt's transaction
    activity.record(
        "receive", po, after={"line_no": line.line_no, "count": len(devices), "serials": [d.serial for d in devices]}, note=note
    )
    return devices


def _commit_receipt():
    # A concurrent receipt registered the same serial/terminal ID/IMEI between our check and insert.
    commit_or_conflict()
