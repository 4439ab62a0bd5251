"""Resolving a ticket by replacing the truck's device or its SIM, inside the ticket's transaction (no commit here).

Device replacement: the old device comes off the truck and goes faulty -> in_repair, a device from stock is
installed on the same truck, and the SIM moves with it. An installation row names the work order that put the device
on (``installation.work_order_id`` is required), so the replacement is recorded as a swap work order of the ticket's
company, scheduled and installed at the moment of the resolution. Fitting the replacement is paid as the company's
installation fee, written as a labour cost line of the ticket (with its ledger entry). The row locks and the
partial unique indexes are those of closing a work order (``installs.closing``, whose helpers are reused): a race
lost after the checks is a 409 with nothing saved.

SIM replacement: the old SIM's assignment ends and it is suspended (deactivated that day); the new SIM (ICCID with
its Luhn check digit, carrier from the issuer prefix) becomes active in the device.
"""
from flask_babel import lazy_gettext as _l

from .. import activity, notes
from ..errors import Conflict, Invalid, invalid
from ..extensions import db
from ..installs import service as installs  # before closing, which the service module imports at its end
from ..installs import closing  # noqa: I001
from ..installs.models import Installation
from ..inventory.models import Device
from ..inventory.service import move_device
from ..labels import named
from ..ledger import service as ledger
from ..sims import service as sims
from . import tickets

RACE_LOST = _l("Another change took this device, SIM or truck at the same moment; nothing was saved.")


def race_guard(resolution):
    """409 with nothing saved when a unique index refuses the resolution's rows (a race lost after the checks)."""
    return race_guard_for("iccid" if resolution == "sim_replaced" else "device_serial", RACE_LOST)


def race_guard_for(field, message):
    """A unique index refusing the unit of work (at a flush or the commit): roll back, 409 on ``field``."""
    return closing._race_guard(field, message)


def _conflict(field, message):
    return Conflict(message, {field: [message]})


def _on_truck(ticket):
    installation = installs.current_installation(truck_id=ticket.truck_id, lock=True)
    if installation is None:
        raise _conflict("state", _l("No device is installed on truck %(plate)s; nothing can be replaced.", plate=ticket.truck.plate))
    return installation


def _swap_order(ticket, at):
    """The swap work order that records the replacement, scheduled at ``at`` for the ticket's company."""
    order = installs._new_order(ticket.truck_id, "swap", "device_faulty", note=f"Device replaced under ticket {ticket.number}.")
    db.session.flush()
    order.number = installs._number(order)
    activity.record("create", order)
    installs.move_order(order, "assigned", company_id=ticket.company_id)
    installs.move_order(order, "scheduled", appointment_at=at)
    return order


def replace_device(ticket, serial, at):
    """Swap the truck's device for the stock device ``serial``; returns the ticket's changes."""
    serial = (serial or "").strip()
    if not serial:
        raise invalid("device_serial", _l("Give the serial of the device from stock that replaces the faulty one."))
    day = installs.local_day(at)
    new = closing._lock_device(serial)  # the same lock order as closing a work order: the stock device first
    errors = {}
    closing._check_device(new, serial, day, errors)
    if errors:
        raise Invalid(_l("The replacement device cannot be installed."), errors)
    if new.status != "in_stock":
        raise _conflict("device_serial", _l("Device %(serial)s is %(state)s, not in stock.", serial=serial,
                                             state=named("device_state", new.status)))
    installation = _on_truck(ticket)
    busy = installs.active_order(ticket.truck_id)
    if busy is not None:
        raise _conflict("state", _l("Truck %(plate)s has work order %(number)s (%(state)s); finish or cancel it first.",
                                     plate=ticket.truck.plate, number=busy.number, state=named("order_state", busy.state)))

    order = _swap_order(ticket, at)
    note = f"replaced under ticket {ticket.number} ({order.number})"
    old_sim = sims.open_assignment(device_id=installation.device_id)
    old = closing._take_off(order, installation, "faulty", at, note)
    move_device(old, "in_repair", note=note)
    sim = None
    if old_sim is not None:
        sim = closing._take_sim(old_sim.sim.iccid, old_sim.sim.msisdn, old_sim.sim.carrier, new, old.id, day, at)
    move_device(new, "installed", note=f"{note}, truck {ticket.truck.plate}", via_work_order=True)
    fitted = Installation(device_id=new.id, truck_id=ticket.truck_id, work_order_id=order.id, installed_at=at)
    db.session.add(fitted)
    activity.record("create", fitted)
    ledger.attribute_device_purchase(new.id, ticket.truck_id, notes.write("installed on %(plate)s by %(order)s", plate=ticket.truck.plate, order=order.number))
    installs.move_order(order, "installed", device_id=new.id, sim_id=sim.id if sim else None, installed_at=at,
                        closed_by_id=tickets._user_id(), old_device_id=old.id, note=note)
    tickets.add_cost_line(ticket, "maintenance_labour", installs.installation_fee(ticket.company),
                          notes.write("Fitting replacement device %(serial)s (installation fee, %(order)s)", serial=new.serial, order=order.number), at=at)
    return {"new_device_id": new.id}


def replace_sim(ticket, iccid, msisdn, carrier, at):
    """Put a new SIM into the truck's device and suspend the old one; returns the ticket's changes."""
    iccid, msisdn, carrier = sims.check_identity(iccid, msisdn, carrier)
    day = installs.local_day(at)
    installation = _on_truck(ticket)
    device = db.session.get(Device, installation.device_id, with_for_update=True, populate_existing=True)
    old = sims.open_assignment(device_id=device.id)
    if old is not None and old.sim.iccid == iccid:
        raise invalid("iccid", _l("SIM %(iccid)s is the one already in the device; give the new SIM's ICCID.", iccid=iccid))
    note = f"SIM replaced under ticket {ticket.number}"
    if old is not None:
        sims.end_assignment(old, at, note=note)
        sims.set_status(old.sim, "suspended", day, note=note)
        db.session.flush()  # the device's open-assignment slot is free for the new SIM
    sim = closing._take_sim(iccid, msisdn, carrier, device, None, day, at)
    return {"old_sim_id": old.sim_id if old else None, "new_sim_id": sim.id}
