"""Work-order rules: eligibility, creation (one or by county), the state machine, contractor scoping.

Closing (install, swap, removal) lives in ``closing.py`` and is re-exported here: one service entry point.
"""
import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import joinedload

from .. import activity
from ..auth.models import ContractorCompany, Role
from ..errors import Conflict, Invalid, NotFound, invalid
from ..extensions import db
from ..transactions import commit_or_conflict, race_guard
from ..fleet import service as fleet
from ..fleet.models import Policy, Truck
from ..labels import named
from .models import ACTIVE_STATES, ORDER_KINDS, REMOVAL_REASONS, Installation, WorkOrder

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

# Every legal move of a work order; anything else is refused with 409. ``assigned -> assigned`` and
# ``scheduled -> scheduled`` are a reassignment and a new appointment. Cancelling is allowed only before
# installed; rework follows a failed check of an installed (or connected) order and goes back to the contractor.
TRANSITIONS = {
    "open": ("assigned", "cancelled"),
    "assigned": ("assigned", "scheduled", "cancelled"),
    "scheduled": ("assigned", "scheduled", "installed", "completed", "cancelled"),
    "installed": ("connected", "rework", "completed"),
    "connected": ("rework", "completed"),
    "rework": ("scheduled", "installed"),
    "completed": (),
    "cancelled": (),
}


def legal_targets(state):
    return list(TRANSITIONS.get(state, ()))


def move_order(order, to, note=None, **changes):
    """Move ``order`` to state ``to`` in the current transaction (no commit); the one gate for order states."""
    frm = order.state
    if to not in TRANSITIONS.get(frm, ()):
        message = _l("A work order cannot go from %(frm)s to %(to)s.", frm=named("order_state", frm), to=named("order_state", to))
        raise Conflict(message, {"state": [message]})
    before, after = activity.changes(order, {"state": to, **changes})
    activity.record(f"state:{frm}->{to}", order, before, after, note=note)
    return order


def _commit(field="state", message=_l("Another change to this truck or device got there first; reload and try again.")):
    """Commit; a race lost on a unique index becomes a 409 rather than a 500."""
    commit_or_conflict(message, field)


def _user_id():
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id
    return None


def local_day(moment):
    return moment.astimezone(LOCAL_TZ).date()


# ---- scoping and look-ups ----------------------------------------------------------------------------


def _contractor_company(user):
    """The company a contractor user is limited to, or None (ops, system)."""
    if user is not None and user.role == Role.CONTRACTOR:
        return user.company_id or -1  # a contractor without a company sees nothing
    return None


def orders_query(user, state=None, kind=None, county_code=None, company_id=None, q=None, date_from=None, date_to=None):
    """Work orders visible to ``user`` matching the filters, newest first."""
    stmt = select(WorkOrder).join(WorkOrder.truck).options(joinedload(WorkOrder.truck), joinedload(WorkOrder.company))
    own = _contractor_company(user)
    if own is not None:
        stmt = stmt.where(WorkOrder.company_id == own)
    if state:
        stmt = stmt.where(WorkOrder.state == state)
    if kind:
        stmt = stmt.where(WorkOrder.kind == kind)
    if county_code:
        stmt = stmt.where(Truck.county_code == county_code)
    if company_id:
        stmt = stmt.where(WorkOrder.company_id == company_id)
    if q and q.strip():
        text = q.strip()
        stmt = stmt.where(or_(WorkOrder.number.icontains(text, autoescape=True), Truck.plate.contains(text.upper(), autoescape=True)))
    # The date a contractor cares about is the appointment; unscheduled orders count by creation.
    when = func.coalesce(WorkOrder.appointment_at, WorkOrder.created_at)
    if date_from:
        stmt = stmt.where(when >= _day_start(date_from))
    if date_to:
        stmt = stmt.where(when < _day_start(date_to + dt.timedelta(days=1)))
    return stmt.order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())


def _day_start(day):
    return dt.datetime.combine(day, dt.time(), LOCAL_TZ).astimezone(dt.timezone.utc)


def get_order(order_id, lock=False):
    stmt = select(WorkOrder).where(WorkOrder.id == order_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    order = db.session.scalar(stmt)
    if order is None:
        raise NotFound(_l("No work order %(id)s.", id=order_id))
    return order


def get_order_for(user, order_id, lock=False):
    """The order if ``user`` may see it; another company's order is answered as not found."""
    order = get_order(order_id, lock)
    own = _contractor_company(user)
    if own is not None and order.company_id != own:
        raise NotFound(_l("No work order %(id)s.", id=order_id))
    return order


def current_installation(truck_id=None, device_id=None, lock=False):
    """The installation now on a truck (or of a device), or None."""
    stmt = select(Installation).where(Installation.removed_at.is_(None))
    if truck_id is not None:
        stmt = stmt.where(Installation.truck_id == truck_id)
    if device_id is not None:
        stmt = stmt.where(Installation.device_id == device_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(stmt)


def active_order(truck_id):
    return db.session.scalar(select(WorkOrder).where(WorkOrder.truck_id == truck_id, WorkOrder.state.in_(ACTIVE_STATES)))


# ---- eligibility -------------------------------------------------------------------------------------


def _device_installed(truck, day):
    found = current_installation(truck.id)
    if found is not None:
        return {"code": "device_installed", "message": _l("Device %(serial)s is already installed on this truck.",
                                                         serial=found.device.serial)}


def _order_open(truck, day):
    found = active_order(truck.id)
    if found is not None:
        return {"code": "order_open", "message": _l("Work order %(number)s is already %(state)s for this truck.", number=found.number,
                                                   state=named("order_state", found.state))}


fleet.register_eligibility_check(_device_installed)
fleet.register_eligibility_check(_order_open)


def _refusal(truck, reasons):
    codes = ", ".join(r["code"] for r in reasons)
    return Invalid(_l("Truck %(plate)s cannot get a work order (%(codes)s).", plate=truck.plate, codes=codes),
                   {"truck_id": [r["message"] for r in reasons]})


def _removal_refusals(truck):
    """Why ``truck`` cannot get a removal/swap order: it needs a device on it and no open order."""
    reasons = []
    if current_installation(truck.id) is None:
        reasons.append({"code": "no_device_installed", "message": _l("No device is installed on this truck.")})
    if order := _order_open(truck, None):
        reasons.append(order)
    return reasons


# ---- creating ----------------------------------------------------------------------------------------


def _new_order(truck_id, kind, reason=None, note=None):
    # A temporary unique number; the readable one needs the id (set after the flush).
    order = WorkOrder(number=f"tmp-{uuid.uuid4().hex[:24]}", kind=kind, state="open", truck_id=truck_id, reason=reason, note=note,
                      created_by_id=_user_id())
    db.session.add(order)
    return order


def _number(order):
    return f"WO{local_day(order.created_at or dt.datetime.now(dt.timezone.utc)):%Y%m%d}-{order.id:06d}"


@race_guard()  # a race lost on the truck's open order: 409 with the words of the order_open refusal
def create_order(truck_id, kind="install", reason=None, note=None, on=None):
    """Open a work order on a truck and commit; an ineligible truck is refused (422) with every reason."""
    order = add_order(truck_id, kind, reason, note, on)
    db.session.commit()
    return order


def add_order(truck_id, kind="install", reason=None, note=None, on=None):
    """``create_order`` in the caller's transaction: flushed (a race on the truck's open order raises
    IntegrityError there), not committed."""
    if kind not in ORDER_KINDS:
        raise invalid("kind", _l("Kind must be one of %(kinds)s.", kinds=", ".join(ORDER_KINDS)))
    truck = db.session.get(Truck, truck_id)
    if truck is None:
        raise invalid("truck_id", _l("No truck with id %(id)s.", id=truck_id))
    if kind == "install":
        reasons = fleet.eligibility(truck, on or fleet.today())
        reason = None
    else:
        if reason is None:
            reason = "device_faulty" if kind == "swap" else None
        if reason not in REMOVAL_REASONS:
            raise invalid("reason", _l("A %(kind)s order needs a reason: one of %(reasons)s.", kind=named("order_kind", kind),
                                          reasons=", ".join(REMOVAL_REASONS)))
        reasons = _removal_refusals(truck)
    if reasons:
        raise _refusal(truck, reasons)
    order = _new_order(truck.id, kind, reason, note)
    db.session.flush()
    order.number = _number(order)
    activity.record("create", order)
    return order


def _county_candidates(county_code, day):
    """Every truck in the county with the facts eligibility needs, in one query."""
    insured = exists().where(Policy.truck_id == Truck.id, Policy.start_date <= day, Policy.end_date >= day)
    installed = exists().where(Installation.truck_id == Truck.id, Installation.removed_at.is_(None))
    ordered = exists().where(WorkOrder.truck_id == Truck.id, WorkOrder.state.in_(ACTIVE_STATES))
    stmt = (
        select(Truck.id, Truck.plate, Truck.is_heavy, insured, installed, ordered)
        .where(Truck.county_code == county_code)
        .order_by(Truck.plate)
    )
    return db.session.execute(stmt).all()


def bulk_create(county_code, on=None):
    """Open an install order for every eligible truck in a county; report the others with their reasons."""
    day = on or fleet.today()
    created, refused, orders = [], [], []
    for truck_id, plate, heavy, insured, installed, ordered in _county_candidates(county_code, day):
        codes = [code for code, bad in (("not_heavy", not heavy), ("no_policy_in_force", not insured),
                                        ("device_installed", installed), ("order_open", ordered)) if bad]
        if codes:
            refused.append({"truck_id": truck_id, "plate": plate, "reasons": codes})
        else:
            orders.append(_new_order(truck_id, "install"))
    if orders:
        with race_guard(_l("Another change opened orders in this county meanwhile; try again."), "county_code"):
            db.session.flush()
            for order in orders:
                order.number = _number(order)
            activity.record_many([("create", order, None, None) for order in orders], note=f"bulk create for county {county_code}")
            db.session.commit()
        created = [order.id for order in orders]
    return {"created": created, "refused": refused}


# ---- the state machine -------------------------------------------------------------------------------


def assign(order_id, company_id):
    """Give an order to a contractor company (again, to reassign it)."""
    order = get_order(order_id, lock=True)
    company = db.session.get(ContractorCompany, company_id)
    if company is None:
        raise invalid("company_id", _l("No contractor company with id %(id)s.", id=company_id))
    changes = {"company_id": company.id}
    if order.state == "scheduled":
        changes.update(appointment_at=None, address=None)  # a new company makes its own appointment
    move_order(order, "assigned", **changes)
    _commit()
    return order


def schedule(user, order_id, appointment_at, address=None):
    """Record the appointment with the truck's driver (the order's contractor or ops)."""
    order = get_order_for(user, order_id, lock=True)
    if appointment_at.tzinfo is None:
        appointment_at = appointment_at.replace(tzinfo=LOCAL_TZ)
    changes = {"appointment_at": appointment_at}
    if address is not None:
        changes["address"] = address
    move_order(order, "scheduled", **changes)
    _commit()
    return order


def cancel(order_id, reason):
    """Cancel an order that has not been installed yet, saying why."""
    if not (reason or "").strip():
        raise invalid("reason", _l("Say why the order is cancelled."))
    order = get_order(order_id, lock=True)
    move_order(order, "cancelled", note=reason.strip())
    _commit()
    return order


def send_to_rework(order_id, note):
    """Send an installed order back to its contractor after a failed check."""
    if not (note or "").strip():
        raise invalid("note", _l("Say what must be redone."))
    order = get_order(order_id, lock=True)
    move_order(order, "rework", note=note.strip(), review_note=note.strip())
    _commit("state", _l("This truck has another open work order; finish or cancel it first."))
    return order


# ---- contractor companies ----------------------------------------------------------------------------


def companies_query():
    return select(ContractorCompany).order_by(ContractorCompany.name)


def default_installation_fee():
    return Decimal(str(current_app.config["DEFAULT_INSTALLATION_FEE"]))


def installation_fee(company):
    """What the insurer pays ``company`` per installation: its own fee, else the default setting."""
    if company is not None and company.installation_fee is not None:
        return company.installation_fee
    return default_installation_fee()


def get_company(company_id):
    company = db.session.get(ContractorCompany, company_id)
    if company is None:
        raise NotFound(_l("No contractor company %(id)s.", id=company_id))
    return company


def update_company(company_id, data):
    """Change a contractor company's installation fee (None: use the default setting)."""
    company = get_company(company_id)
    before, after = activity.changes(company, data)
    if after:
        activity.record("update", company, before, after)
    db.session.commit()
    return company


from .closing import close_order, close_removal  # noqa: E402,F401  (one service entry point)
