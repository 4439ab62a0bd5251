"""The SIM registry: list, register (one or a file, all or nothing), plan and status changes, history."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from .. import activity
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..transactions import commit_or_conflict, race_guard
from ..imports import RowErrors, load_rows
from ..labels import named
from . import service
from .models import DataPlan, Sim, SimAssignment
from .schemas import SIM_ALIASES, SimImportRowSchema

ENTITY = Sim.__tablename__
# Status changes ops may make by hand. Installs move SIMs themselves (service.set_status) when devices go on or off.
TRANSITIONS = {
    "in_stock": ("active",),
    "active": ("suspended", "retired"),
    "suspended": ("active", "retired"),
    "retired": (),
}
CHUNK = 500  # bounded IN lists


def sims_query(carrier=None, status=None, plan=None, q=None):
    """SIMs with their filters, by ICCID."""
    stmt = select(Sim).options(joinedload(Sim.plan))
    if carrier:
        stmt = stmt.where(Sim.carrier == carrier)
    if status:
        stmt = stmt.where(Sim.status == status)
    if plan:
        stmt = stmt.where(Sim.plan_id == plan)
    if q:
        text = q.strip()
        stmt = stmt.where(or_(Sim.iccid.contains(text, autoescape=True), Sim.msisdn.contains(text, autoescape=True)))
    return stmt.order_by(Sim.iccid)


def get_sim(sim_id, lock=False):
    stmt = select(Sim).where(Sim.id == sim_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    sim = db.session.scalar(stmt)
    if sim is None:
        raise NotFound(_l("SIM %(id)s does not exist.", id=sim_id))
    return sim


def targets(status):
    """The statuses a SIM in ``status`` may be moved to by hand."""
    return TRANSITIONS.get(status, ())


def dates_problems(status, activated_on, deactivated_on):
    """Field errors of a SIM's dates for its status: {field: [message]} (empty when they fit)."""
    errors = {}
    if status == "in_stock":
        if activated_on:
            errors["activated_on"] = [_l("A SIM in stock has not been activated; leave the activation date empty.")]
        if deactivated_on:
            errors["deactivated_on"] = [_l("A SIM in stock has not been deactivated; leave the deactivation date empty.")]
        return errors
    if activated_on is None:
        errors["activated_on"] = [_l("The activation date is needed for a SIM that is %(status)s.", status=named("sim_state", status))]
    if status == "active" and deactivated_on:
        errors["deactivated_on"] = [_l("An active SIM has no deactivation date.")]
    if status in ("suspended", "retired"):
        if deactivated_on is None:
            errors["deactivated_on"] = [_l("The deactivation date is needed for a SIM that is %(status)s.", status=named("sim_state", status))]
        elif activated_on and deactivated_on < activated_on:
            errors["deactivated_on"] = [_l("Must be on or after the activation date (%(day)s).", day=activated_on.isoformat())]
    return errors


def _plan_problem(plan_id, carrier):
    """Why ``plan_id`` cannot be the plan of a SIM of ``carrier``, or None."""
    plan = db.session.get(DataPlan, plan_id)
    if plan is None:
        return _l("Data plan %(id)s does not exist.", id=plan_id)
    if plan.carrier != carrier:
        return _l("Plan %(code)s is a %(plan_carrier)s plan; this SIM is %(carrier)s.", code=plan.code,
                  plan_carrier=service.CARRIER_LABELS[plan.carrier], carrier=service.CARRIER_LABELS[carrier])
    return None


def _commit_or_conflict():
    # A concurrent registration took the ICCID or the number between our check and the insert: the check's words.
    commit_or_conflict()


@race_guard()  # the insert is flushed for the activity entry, before the commit
def create_sim(data):
    """Register one SIM; the carrier follows its ICCID, its plan must be of that carrier."""
    errors = {}
    try:
        iccid, msisdn, carrier = service.check_identity(data["iccid"], data["msisdn"], data.get("carrier"))
    except Invalid as err:
        errors.update(err.errors)
        iccid, msisdn, carrier = None, None, None
    if data.get("plan_id") is not None and carrier and (problem := _plan_problem(data["plan_id"], carrier)):
        errors["plan_id"] = [problem]
    errors.update(dates_problems(data["status"], data.get("activated_on"), data.get("deactivated_on")))
    if errors:
        raise Invalid(_l("The SIM's details are not valid."), errors)
    if service.find(iccid) is not None:
        message = _l("SIM %(iccid)s is already registered.", iccid=iccid)
        raise Conflict(message, {"iccid": [message]})
    if (other := db.session.scalar(select(Sim).where(Sim.msisdn == msisdn))) is not None:
        message = _l("Terminal number %(msisdn)s belongs to another SIM (%(iccid)s).", msisdn=msisdn, iccid=other.iccid)
        raise Conflict(message, {"msisdn": [message]})
    sim = Sim(iccid=iccid, msisdn=msisdn, carrier=carrier, plan_id=data.get("plan_id"), status=data["status"],
              activated_on=data.get("activated_on"), deactivated_on=data.get("deactivated_on"))
    db.session.add(sim)
    activity.record("create", sim)
    _commit_or_conflict()
    return sim


def update_sim(sim_id, data):
    """Change a SIM's plan, its status (with the date of the change) or correct its dates."""
    sim = get_sim(sim_id, lock=True)
    note = data.get("note")
    target = data.get("status", sim.status)
    if target != sim.status and target not in targets(sim.status):
        message = _l("A SIM cannot go from %(frm)s to %(to)s.", frm=named("sim_state", sim.status), to=named("sim_state", target))
        raise Conflict(message, {"status": [message]})
    errors = {}
    if data.get("plan_id") is not None and (problem := _plan_problem(data["plan_id"], sim.carrier)):
        errors["plan_id"] = [problem]
    activated_on = data.get("activated_on", sim.activated_on)
    deactivated_on = data.get("deactivated_on", sim.deactivated_on)
    if target != sim.status and target == "active":
        # Activation (again) starts a new active period: the date must be given, the old end is cleared.
        activated_on, deactivated_on = data.get("activated_on"), data.get("deactivated_on")
    elif target != sim.status and sim.status == "active":
        deactivated_on = data.get("deactivated_on")
    errors.update(dates_problems(target, activated_on, deactivated_on))
    if errors:
        raise Invalid(_l("The SIM's changes are not valid."), errors)

    if target != sim.status:
        service.set_status(sim, target, activated_on if target == "active" else deactivated_on, note=note)
    changes = {"activated_on": activated_on, "deactivated_on": deactivated_on}
    if "plan_id" in data:
        changes["plan_id"] = data["plan_id"]
    before, after = activity.changes(sim, changes)
    if after:
        activity.record("update", sim, before, after, note=note)
    _commit_or_conflict()
    return sim


def assignments(sim):
    """The SIM's time in devices, oldest first, each with the device's serial and the trucks it was on meanwhile."""
    from ..fleet.models import Truck
    from ..installs.models import Installation
    from ..inventory.models import Device

    rows = db.session.execute(
        select(SimAssignment, Device.serial).join(Device, Device.id == SimAssignment.device_id)
        .where(SimAssignment.sim_id == sim.id).order_by(SimAssignment.started_at, SimAssignment.id)
    ).all()
    device_ids = {a.device_id for a, _ in rows}
    installs = db.session.execute(
        select(Installation, Truck.plate).join(Truck, Truck.id == Installation.truck_id)
        .where(Installation.device_id.in_(device_ids)).order_by(Installation.installed_at)
    ).all() if device_ids else []
    result = []
    for assignment, serial in rows:
        trucks = [
            {"truck_id": i.truck_id, "plate": plate, "installed_at": i.installed_at, "removed_at": i.removed_at}
            for i, plate in installs
            if i.device_id == assignment.device_id
            # the two periods overlap
            and (assignment.ended_at is None or i.installed_at < assignment.ended_at)
            and (i.removed_at is None or i.removed_at > assignment.started_at)
        ]
        result.append({"id": assignment.id, "device_id": assignment.device_id, "device_serial": serial,
                       "started_at": assignment.started_at, "ended_at": assignment.ended_at, "trucks": trucks})
    return result


def sim_detail(sim_id):
    """A SIM with its assignments (devices, trucks) and its activity, for the API and the page."""
    sim = get_sim(sim_id)
    return sim, assignments(sim), activity.history(ENTITY, sim.id)


# ---- file registration --------------------------------------------------------------------------------


def _in_chunks(column, values):
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield from db.session.scalars(select(Sim).where(column.in_(values[start:start + CHUNK])))


def _check_row(number, values, columns, plans, errors):
    """Row-level rules: identity, plan of the same carrier, dates for the status. Returns the SIM's values or None."""
    column = lambda name: columns.get(name, name)  # noqa: E731  (header as written in the file)
    bad = False
    try:
        iccid, msisdn, carrier = service.check_identity(values["iccid"], values["msisdn"], values.get("carrier"))
    except Invalid as err:
        for field, messages in err.errors.items():
            for message in messages:
                errors.add(number, column(field), message)
        return None
    plan = plans.get((carrier, values["plan"]))
    if plan is None:
        errors.add(number, column("plan"), _l("No plan %(plan)s for %(carrier)s.", plan=values["plan"],
                                                 carrier=service.CARRIER_LABELS[carrier]))
        bad = True
    for field, messages in dates_problems(values["status"], values["activated_on"], values["deactivated_on"]).items():
        for message in messages:
            errors.add(number, column(field), message)
        bad = True
    if bad:
        return None
    return {"iccid": iccid, "msisdn": msisdn, "carrier": carrier, "plan_id": plan.id, "status": values["status"],
            "activated_on": values["activated_on"], "deactivated_on": values["deactivated_on"]}


@race_guard()
def import_sims(data, filename):
    """Register SIMs from a file: every row valid or nothing stored; rows equal to a registered SIM are left alone."""
    errors = RowErrors()
    rows = load_rows(data, filename, SimImportRowSchema(), SIM_ALIASES, errors=errors)
    columns = rows.columns
    plans = {(p.carrier, p.code): p for p in db.session.scalars(select(DataPlan))}
    checked = [(n, v) for n, raw in rows if (v := _check_row(n, raw, columns, plans, errors)) is not None]
    by_iccid = {s.iccid: s for s in _in_chunks(Sim.iccid, {v["iccid"] for _, v in checked})}
    by_msisdn = {s.msisdn: s for s in _in_chunks(Sim.msisdn, {v["msisdn"] for _, v in checked})}
    # What the file says is compared; status and dates only when the file has those columns.
    compared = ["msisdn", "carrier", "plan_id"] + [f for f in ("status", "activated_on", "deactivated_on") if f in columns]
    seen_iccid, seen_msisdn, to_create, unchanged = {}, {}, [], 0
    for number, values in checked:
        iccid, msisdn = values["iccid"], values["msisdn"]
        if iccid in seen_iccid:
            errors.add(number, columns["iccid"], _l("Duplicate of row %(row)s (same ICCID).", row=seen_iccid[iccid]))
            continue
        if msisdn in seen_msisdn:
            errors.add(number, columns["msisdn"], _l("Duplicate of row %(row)s (same terminal number).", row=seen_msisdn[msisdn]))
            continue
        seen_iccid[iccid], seen_msisdn[msisdn] = number, number
        if (sim := by_iccid.get(iccid)) is not None:
            differing = [columns.get("plan" if f == "plan_id" else f, f) for f in compared if getattr(sim, f) != values[f]]
            if differing:
                errors.add(number, columns["iccid"],
                           _l("SIM %(iccid)s is already registered with other values (%(columns)s); change it on its page instead.",
                              iccid=iccid, columns=", ".join(differing)))
            else:
                unchanged += 1
            continue
        if (other := by_msisdn.get(msisdn)) is not None:
            errors.add(number, columns["msisdn"], _l("Terminal number %(msisdn)s belongs to another SIM (%(iccid)s).", msisdn=msisdn,
                                                       iccid=other.iccid))
            continue
        to_create.append(values)
    errors.raise_if_any()

    created = [Sim(**values) for values in to_create]
    db.session.add_all(created)
    if created:
        db.session.flush()
        activity.record_many([("import", sim, None, activity.snapshot(sim)) for sim in created], note=filename)
    _commit_or_conflict()
    return {"created": len(created), "unchanged": unchanged}
