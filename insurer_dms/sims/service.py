"""SIM rules: ICCID and MSISDN validation, carrier from the issuer prefix, get-or-create, status changes."""
import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import activity, luhn
from ..errors import Conflict, Invalid
from ..extensions import db
from .models import CARRIERS, Sim, SimAssignment

# ITU-T E.118 issuer identifiers of the Chinese carriers (DOMAIN.md, "Real identifiers and formats").
ISSUERS = {
    "898600": "china_mobile", "898602": "china_mobile", "898604": "china_mobile", "898607": "china_mobile",
    "898601": "china_unicom", "898606": "china_unicom", "898609": "china_unicom",
    "898603": "china_telecom", "898611": "china_telecom",
}
CARRIER_LABELS = {"china_mobile": _l("China Mobile"), "china_unicom": _l("China Unicom"), "china_telecom": _l("China Telecom")}


def iccid_problem(iccid):
    """Why ``iccid`` is not a valid Chinese SIM ICCID, or None."""
    text = str(iccid or "").strip()
    if not re.fullmatch(r"\d{19,20}", text):
        return _l("An ICCID is 19 or 20 digits.")
    if not text.startswith("8986"):
        return _l("A Chinese SIM's ICCID starts with 8986.")
    if not luhn.is_valid(text):
        return _l("The ICCID check digit (Luhn, last digit) is wrong.")
    if text[:6] not in ISSUERS:
        return _l("Unknown issuer prefix %(prefix)s; expected one of %(prefixes)s.", prefix=text[:6], prefixes=", ".join(sorted(ISSUERS)))
    return None


def carrier_of(iccid):
    """The carrier that issued ``iccid`` (from its 6-digit issuer prefix), or None."""
    return ISSUERS.get(str(iccid or "")[:6])


def msisdn_problem(msisdn):
    """Why ``msisdn`` is not a terminal phone number (11-13 digits), or None."""
    if not re.fullmatch(r"\d{11,13}", str(msisdn or "").strip()):
        return _l("A terminal phone number (MSISDN) is 11 to 13 digits.")
    return None


def check_identity(iccid, msisdn, carrier=None, prefix=""):
    """Validate a SIM's identity; returns (iccid, msisdn, carrier) or raises Invalid naming every bad field."""
    iccid, msisdn = str(iccid or "").strip(), str(msisdn or "").strip()
    errors = {}
    if problem := iccid_problem(iccid):
        errors[prefix + "iccid"] = [problem]
    if problem := msisdn_problem(msisdn):
        errors[prefix + "msisdn"] = [problem]
    issuer = carrier_of(iccid)
    if carrier is not None and carrier not in CARRIERS:
        errors[prefix + "carrier"] = [_l("Carrier must be one of %(carriers)s.", carriers=", ".join(CARRIERS))]
    elif carrier and issuer and carrier != issuer:
        errors[prefix + "carrier"] = [
            _l("ICCID %(iccid)s was issued by %(issuer)s (prefix %(prefix)s), not %(carrier)s.", iccid=iccid,
               issuer=CARRIER_LABELS[issuer], prefix=iccid[:6], carrier=CARRIER_LABELS[carrier])
        ]
    if errors:
        raise Invalid(_l("The SIM's details are not valid."), errors)
    return iccid, msisdn, issuer


def find(iccid):
    return db.session.scalar(select(Sim).where(Sim.iccid == iccid))


def get_or_create(iccid, msisdn, carrier=None, lock=False):
    """The SIM with ``iccid`` (its MSISDN must match), or a new one in stock; in the caller's transaction."""
    iccid, msisdn, carrier = check_identity(iccid, msisdn, carrier)
    stmt = select(Sim).where(Sim.iccid == iccid)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    sim = db.session.scalar(stmt)
    if sim is not None:
        if sim.msisdn != msisdn:
            message = _l("SIM %(iccid)s is registered with terminal number %(msisdn)s, not %(other)s.", iccid=iccid, msisdn=sim.msisdn,
                          other=msisdn)
            raise Conflict(message, {"msisdn": [message]})
        return sim
    other = db.session.scalar(select(Sim).where(Sim.msisdn == msisdn))
    if other is not None:
        message = _l("Terminal number %(msisdn)s belongs to another SIM (%(iccid)s).", msisdn=msisdn, iccid=other.iccid)
        raise Conflict(message, {"msisdn": [message]})
    sim = Sim(iccid=iccid, msisdn=msisdn, carrier=carrier, status="in_stock")
    db.session.add(sim)
    activity.record("create", sim)
    return sim


def open_assignment(sim=None, device_id=None):
    """The SIM's (or the device's) current assignment, or None."""
    stmt = select(SimAssignment).where(SimAssignment.ended_at.is_(None))
    if sim is not None:
        stmt = stmt.where(SimAssignment.sim_id == sim.id)
    if device_id is not None:
        stmt = stmt.where(SimAssignment.device_id == device_id)
    return db.session.scalar(stmt)


def set_status(sim, status, day=None, note=None):
    """Change a SIM's status in the current transaction, with the activation/deactivation date."""
    frm = sim.status
    if frm == status:
        return sim
    sim.status = status
    if status == "active":
        sim.activated_on, sim.deactivated_on = day, None
    elif status in ("suspended", "retired"):
        sim.deactivated_on = day
    # The date goes into the history with the state, so the page shows when the SIM was (de)activated.
    dated = "activated_on" if status == "active" else "deactivated_on" if status in ("suspended", "retired") else None
    after = {"status": status, **({dated: day} if dated and day else {})}
    activity.record(f"state:{frm}->{status}", sim, before={"status": frm}, after=after, note=note)
    return sim


def assign(sim, device_id, at):
    """Put ``sim`` into a device from ``at`` (the caller has checked neither is taken)."""
    assignment = SimAssignment(sim=sim, device_id=device_id, started_at=at)
    db.session.add(assignment)
    activity.record("assign", sim, after={"device_id": device_id, "started_at": at})
    return assignment


def end_assignment(assignment, at, note=None):
    assignment.ended_at = at
    activity.record("unassign", assignment.sim, before={"device_id": assignment.device_id}, after={"ended_at": at}, note=note)
    return assignment
