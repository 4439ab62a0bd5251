"""Closing work orders: install (and swap) in one transaction, removal; the database has the last word on races."""
import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import activity, notes
from ..errors import Conflict, Invalid
from ..extensions import db
from ..inventory.models import Device
from ..inventory.service import move_device
from ..labels import named, named_list
from ..ledger import service as ledger
from ..sims import service as sims
from ..transactions import race_guard
from ..types import utcnow
from . import evidence
from .models import Installation
from .service import LOCAL_TZ, _user_id, current_installation, get_order_for, installation_fee, local_day, move_order

# A phone clock a little ahead of the server is not "the future".
CLOCK_SKEW = dt.timedelta(minutes=5)
CLOSABLE = ("scheduled", "rework")
RACE_LOST = _l("Another technician closed an order with this device, SIM or truck at the same moment; nothing was saved.")


def _conflict(field, message):
    return Conflict(message, {field: [message]})


def _lock_device(serial):
    # The row lock serialises closes that use the same device: the loser re-reads it after the winner commits.
    stmt = select(Device).where(Device.serial == serial).with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(stmt)


def _check_input(order, data):
    """Field errors for the close form (photos, SIM, time), all at once; returns (installed_at, sim identity)."""
    errors = {}
    installed_at = data["installed_at"]
    if installed_at.tzinfo is None:
        installed_at = installed_at.replace(tzinfo=LOCAL_TZ)
    if installed_at > utcnow() + CLOCK_SKEW:
        errors["installed_at"] = [_l("The install time is in the future.")]
    missing = evidence.missing_photos(order)
    if missing:
        errors["photos"] = [_l("Required photos missing: %(kinds)s.", kinds=named_list("photo_kind", missing))]
    identity = None
    try:
        identity = sims.check_identity(data.get("iccid"), data.get("msisdn"), data.get("carrier"))
    except Invalid as err:
        errors.update(err.errors)
    return installed_at, identity, errors


def _check_device(device, serial, day, errors):
    if device is None:
        errors.setdefault("device_serial", []).append(_l("No device with serial %(serial)s.", serial=serial))
        return
    reason = device.catalogue_entry.usable_on(day)
    if reason:
        errors.setdefault("device_serial", []).append(
            _l("%(entry)s cannot be installed on %(day)s: %(reason)s.", entry=device.catalogue_entry.label, day=day.isoformat(),
               reason=reason)
        )


def _take_sim(iccid, msisdn, carrier, device, old_device_id, day, at):
    """The SIM for ``device``, active and assigned to it; a SIM still in another device is refused."""
    sim = sims.get_or_create(iccid, msisdn, carrier, lock=True)
    if sim.status == "retired":
        raise _conflict("iccid", _l("SIM %(iccid)s is retired.", iccid=iccid))
    current = sims.open_assignment(sim=sim) if sim.id else None
    if current is not None and current.device_id not in (device.id, old_device_id):
        raise _conflict("iccid", _l("SIM %(iccid)s is in another device (id %(id)s); remove it there first.", iccid=iccid,
                                     id=current.device_id))
    if current is not None and current.device_id == old_device_id:
        sims.end_assignment(current, at, note="moved to the replacement device")
        current = None
    in_device = sims.open_assignment(device_id=device.id)
    if in_device is not None and in_device.sim_id != sim.id:
        raise _conflict("device_serial", _l("Device %(serial)s already holds another SIM (%(iccid)s).", serial=device.serial,
                                             iccid=in_device.sim.iccid))
    sims.set_status(sim, "active", day)
    if current is None:
        sims.assign(sim, device.id, at)
    return sim


def _take_off(order, installation, to, at, note):
    """End ``installation`` (device off the truck) and move its device to ``to``; returns the device."""
    old = db.session.get(Device, installation.device_id, with_for_update=True, populate_existing=True)
    installation.removed_at = at
    installation.removal_order_id = order.id
    activity.record("remove", installation, after={"removed_at": at, "removal_order_id": order.id}, note=note)
    move_device(old, to, note=note, via_work_order=True)
    return old


def _same_device(order, serial):
    return order.device is not None and order.device.serial == serial


def _race_guard(field="device_serial", message=RACE_LOST):
    """A unique index that refuses our rows (a race lost after the checks) means 409, with nothing saved."""
    return race_guard(message, field)


def close_order(user, order_id, data):
    """Close an install or swap order: device on the truck, SIM active in it, order installed, fee in the ledger."""
    with _race_guard():
        return _close_order(user, order_id, data)


def _close_order(user, order_id, data):
    order = get_order_for(user, order_id, lock=True)
    serial = str(data["device_serial"]).strip()
    if order.kind == "removal":
        raise _conflict("kind", _l("A removal order is closed with close-removal."))
    if order.state in ("installed", "connected", "completed"):
        if _same_device(order, serial):
            db.session.rollback()
            return order  # closing twice is harmless
        raise _conflict("device_serial", _l("Work order %(number)s was already closed with device %(serial)s.", number=order.number,
                                             serial=order.device.serial if order.device else "-"))
    if order.state not in CLOSABLE:
        message = _l("A work order cannot go from %(frm)s to %(to)s.", frm=named("order_state", order.state),
                     to=named("order_state", "installed"))
        raise Conflict(message, {"state": [message]})

    installed_at, identity, errors = _check_input(order, data)
    day = local_day(installed_at)
    device = _lock_device(serial)
    _check_device(device, serial, day, errors)
    if errors:
        raise Invalid(_l("The work order cannot be closed; fix the fields listed."), errors)
    iccid, msisdn, carrier = identity

    if order.device_id is not None:  # rework of an installed order: the same device stays on the truck
        if order.device_id != device.id:
            raise _conflict("device_serial", _l("This order installed device %(serial)s; a different device needs a swap order.",
                                                 serial=order.device.serial))
        move_order(order, "installed", note="rework closed", closed_by_id=_user_id())
        evidence.flag_other_day_photos(order, local_day(order.installed_at))
        return _finish(order)

    if device.status != "in_stock":
        raise _conflict("device_serial", _l("Device %(serial)s is %(state)s, not in stock.", serial=serial,
                                             state=named("device_state", device.status)))
    on_truck = current_installation(truck_id=order.truck_id, lock=True)
    old_device_id = None
    if order.kind == "swap":
        if on_truck is None:
            raise _conflict("device_serial", _l("No device is installed on this truck to swap."))
        old_device_id = on_truck.device_id
        _take_off(order, on_truck, "faulty", installed_at, f"swapped out by work order {order.number}")
    elif on_truck is not None:
        raise _conflict("device_serial", _l("Truck %(plate)s already has device %(serial)s installed.", plate=order.truck.plate,
                                             serial=on_truck.device.serial))

    sim = _take_sim(iccid, msisdn, carrier, device, old_device_id, day, installed_at)
    if old_device_id is not None:
        old_sim = sims.open_assignment(device_id=old_device_id)
        if old_sim is not None:  # a new SIM came with the new device: the old one is no longer used
            sims.end_assignment(old_sim, installed_at, note=f"device swapped by work order {order.number}")
            sims.set_status(old_sim.sim, "suspended", day)
    move_device(device, "installed", note=notes.write("work order %(order)s, truck %(plate)s", order=order.number, plate=order.truck.plate), via_work_order=True)
    installation = Installation(device_id=device.id, truck_id=order.truck_id, work_order_id=order.id, installed_at=installed_at)
    db.session.add(installation)
    activity.record("create", installation)
    move_order(order, "installed", device_id=device.id, sim_id=sim.id, installed_at=installed_at, closed_by_id=_user_id(),
               old_device_id=old_device_id)
    evidence.flag_other_day_photos(order, day)
    fee = installation_fee(order.company)
    ledger.post("installation_fee", fee, day, "work_order", order.id, truck_id=order.truck_id, device_id=device.id,
                company_id=order.company_id, note=notes.write(f"{order.kind} %(order)s", order=order.number))
    ledger.attribute_device_purchase(device.id, order.truck_id, notes.write("installed on %(plate)s by %(order)s", plate=order.truck.plate, order=order.number))
    return _finish(order)


def _finish(order):
    db.session.commit()
    return order


REMOVAL_DISPOSITIONS = ("in_stock", "retired")


def close_removal(user, order_id, disposition, removed_at=None):
    """Close a removal order: device off the truck (back to stock or retired), SIM suspended, order completed."""
    with _race_guard():
        return _close_removal(user, order_id, disposition, removed_at)


def _close_removal(user, order_id, disposition, removed_at):
    if disposition not in REMOVAL_DISPOSITIONS:
        raise Invalid(_l("Unknown disposition."), {"disposition": [_l("One of %(values)s.", values=", ".join(REMOVAL_DISPOSITIONS))]})
    order = get_order_for(user, order_id, lock=True)
    if order.kind != "removal":
        raise _conflict("kind", _l("Work order %(number)s is a %(kind)s order, not a removal.", number=order.number,
                                  kind=named("order_kind", order.kind)))
    if order.state == "completed" and order.old_device_id is not None:
        db.session.rollback()
        return order  # already done
    removed_at = removed_at or utcnow()
    if removed_at.tzinfo is None:
        removed_at = removed_at.replace(tzinfo=LOCAL_TZ)
    if removed_at > utcnow() + CLOCK_SKEW:
        raise Invalid(_l("The removal time is in the future."), {"removed_at": [_l("The removal time is in the future.")]})
    if order.state != "scheduled":
        message = _l("A work order cannot go from %(frm)s to %(to)s.", frm=named("order_state", order.state),
                     to=named("order_state", "completed"))
        raise Conflict(message, {"state": [message]})
    installation = current_installation(truck_id=order.truck_id, lock=True)
    if installation is None:
        raise _conflict("state", _l("No device is installed on truck %(plate)s.", plate=order.truck.plate))
    note = f"removed by work order {order.number} ({order.reason})"
    device = _take_off(order, installation, disposition, removed_at, note)
    assignment = sims.open_assignment(device_id=device.id)
    if assignment is not None:
        sims.end_assignment(assignment, removed_at, note=note)
        sims.set_status(assignment.sim, "suspended", local_day(removed_at), note=note)
    move_order(order, "completed", old_device_id=device.id, closed_by_id=_user_id(), note=note)
    return _finish(order)
