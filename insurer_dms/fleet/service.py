"""Fleet rules and transactions: the heavy-truck rule, policy cover, eligibility, operator/truck/policy CRUD."""
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from .. import activity
from ..errors import Conflict, NotFound, invalid
from ..extensions import db
from ..transactions import commit_or_conflict, race_guard
from .models import Operator, Policy, Truck

# DOMAIN.md, "The programme in five lines" (1): a heavy truck is a semi-trailer tractor used in road
# transport, or an ordinary goods vehicle with a total mass of at least 12 t (12,000 kg).
HEAVY_MASS_KG = 12_000
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
NEUTRAL = Decimal("1.0000")


def heavy_rule(vehicle_type, total_mass_kg, either=lambda a, b: bool(a or b), both=lambda a, b: bool(a and b)):
    """Whether a vehicle is a heavy truck; with ``either=or_, both=and_`` the same rule as SQL."""
    return either(
        vehicle_type == "semi_trailer_tractor",
        both(vehicle_type == "goods_vehicle", total_mass_kg >= HEAVY_MASS_KG),
    )


def today():
    """The calendar day in Chaozhou (policies run by local dates)."""
    return dt.datetime.now(LOCAL_TZ).date()


# ---------------------------------------------------------------- cover and eligibility


def policy_in_force(truck, day):
    """The insurer's policy covering ``truck`` on ``day`` (latest ending first), or None."""
    return db.session.scalars(
        select(Policy)
        .where(Policy.truck_id == truck.id, Policy.start_date <= day, Policy.end_date >= day)
        .order_by(Policy.end_date.desc(), Policy.id)
        .limit(1)
    ).first()


def _not_heavy(truck, day):
    if not truck.is_heavy:
        return {"code": "not_heavy", "message": _l("Not a heavy truck (semi-trailer tractor, or goods vehicle of at least 12,000 kg).")}


def _no_policy(truck, day):
    if policy_in_force(truck, day) is None:
        return {"code": "no_policy_in_force", "message": _l("No policy of ours is in force on %(day)s.", day=day.isoformat())}


# Later capabilities (installs: "device already installed", "order open") add theirs with register_eligibility_check.
ELIGIBILITY_CHECKS = [_not_heavy, _no_policy]


def register_eligibility_check(check):
    """Add a check ``check(truck, day) -> {"code", "message"} | None`` to eligibility()."""
    if check not in ELIGIBILITY_CHECKS:
        ELIGIBILITY_CHECKS.append(check)


def eligibility(truck, day=None):
    """The reasons ``truck`` may not get a device on ``day``; an empty list means eligible."""
    day = day or today()
    return [reason for check in ELIGIBILITY_CHECKS if (reason := check(truck, day))]


# ---------------------------------------------------------------- lookups and lists


def get_operator(operator_id):
    return db.session.get(Operator, operator_id) or _missing("operator", operator_id)


def get_truck(truck_id):
    return db.session.get(Truck, truck_id) or _missing("truck", truck_id)


def get_policy(policy_id):
    return db.session.get(Policy, policy_id) or _missing("policy", policy_id)


def _missing(kind, ident):
    messages = {"operator": _l("No operator with id %(id)s.", id=ident), "truck": _l("No truck with id %(id)s.", id=ident),
                "policy": _l("No policy with id %(id)s.", id=ident)}
    raise NotFound(messages[kind])


def _like(text):
    return (text or "").strip().upper()


def operator_query(q=None, county_code=None):
    """Operators matching a name/credit-code search and county, by name."""
    stmt = select(Operator).order_by(Operator.name, Operator.id)
    if q and q.strip():
        stmt = stmt.where(or_(Operator.name.contains(q.strip(), autoescape=True), Operator.credit_code.contains(_like(q), autoescape=True)))
    if county_code:
        stmt = stmt.where(Operator.county_code == county_code)
    return stmt


def truck_query(q=None, county_code=None, operator_id=None, heavy=None, vehicle_type=None):
    """Trucks matching a plate/VIN search and filters, by plate."""
    stmt = select(Truck).options(joinedload(Truck.operator)).order_by(Truck.plate)
    if q and q.strip():
        stmt = stmt.where(or_(Truck.plate.contains(_like(q), autoescape=True), Truck.vin.contains(_like(q), autoescape=True)))
    if county_code:
        stmt = stmt.where(Truck.county_code == county_code)
    if operator_id:
        stmt = stmt.where(Truck.operator_id == operator_id)
    if heavy is not None:
        stmt = stmt.where(Truck.is_heavy if heavy else ~Truck.is_heavy)
    if vehicle_type:
        stmt = stmt.where(Truck.vehicle_type == vehicle_type)
    return stmt


def policy_query(q=None, truck_id=None, kind=None, in_force_on=None):
    """Policies matching a number/plate search and filters, latest start first."""
    stmt = select(Policy).join(Policy.truck).options(joinedload(Policy.truck)).order_by(Policy.start_date.desc(), Policy.number)
    if q and q.strip():
        stmt = stmt.where(or_(Policy.number.contains(q.strip(), autoescape=True), Truck.plate.contains(_like(q), autoescape=True)))
    if truck_id:
        stmt = stmt.where(Policy.truck_id == truck_id)
    if kind:
        stmt = stmt.where(Policy.kind == kind)
    if in_force_on:
        stmt = stmt.where(Policy.start_date <= in_force_on, Policy.end_date >= in_force_on)
    return stmt


# ---------------------------------------------------------------- create and update


def _taken(model, column, value, field, label, own_id=None):
    stmt = select(model.id).where(getattr(model, column) == value)
    if own_id is not None:
        stmt = stmt.where(model.id != own_id)
    if db.session.scalar(stmt) is not None:
        message = _l("%(label)s %(value)s is already registered.", label=label, value=value)
        raise Conflict(message, {field: [message]})


def _commit():
    """Commit; a unique-constraint race becomes a 409 with the words of ``_taken`` rather than a 500."""
    commit_or_conflict()


@race_guard()  # inserts are flushed for the activity entry, before the commit
def create_operator(data):
    """Register an operator."""
    _taken(Operator, "credit_code", data["credit_code"], "credit_code", _l("Credit code"))
    operator = Operator(**data)
    db.session.add(operator)
    activity.record("create", operator)
    _commit()
    return operator


def update_operator(operator_id, data):
    """Change an operator's fields."""
    operator = get_operator(operator_id)
    if "credit_code" in data:
        _taken(Operator, "credit_code", data["credit_code"], "credit_code", _l("Credit code"), operator.id)
    before, after = activity.changes(operator, data)
    if after:
        activity.record("update", operator, before, after)
    _commit()
    return operator


def _check_operator(data):
    if "operator_id" in data and db.session.get(Operator, data["operator_id"]) is None:
        raise invalid("operator_id", _l("No operator with id %(id)s.", id=data["operator_id"]))


@race_guard()
def create_truck(data):
    """Register a truck for an operator."""
    _check_operator(data)
    _taken(Truck, "plate", data["plate"], "plate", _l("Plate"))
    _taken(Truck, "vin", data["vin"], "vin", _l("VIN"))
    truck = Truck(**data)
    db.session.add(truck)
    activity.record("create", truck)
    _commit()
    return truck


def update_truck(truck_id, data):
    """Change a truck's fields (re-registration, corrected VIN, new operator)."""
    truck = get_truck(truck_id)
    _check_operator(data)
    if "plate" in data:
        _taken(Truck, "plate", data["plate"], "plate", _l("Plate"), truck.id)
    if "vin" in data:
        _taken(Truck, "vin", data["vin"], "vin", _l("VIN"), truck.id)
    before, after = activity.changes(truck, data)
    if after:
        activity.record("update", truck, before, after)
    _commit()
    return truck


def _policy_defaults(data):
    """Coefficients not applied are neutral (1); a commercial policy must state its autonomous coefficient."""
    data = dict(data)
    if data.get("autonomous_coefficient") is None:
        if data["kind"] == "commercial":
            raise invalid("autonomous_coefficient", _l("Commercial policies need the autonomous pricing coefficient."))
        data["autonomous_coefficient"] = NEUTRAL
    if data.get("violation_coefficient") is None:
        data["violation_coefficient"] = NEUTRAL
    return data


@race_guard()
def create_policy(data):
    """Record one of our policies on a truck."""
    if db.session.get(Truck, data["truck_id"]) is None:
        raise invalid("truck_id", _l("No truck with id %(id)s.", id=data["truck_id"]))
    _taken(Policy, "number", data["number"], "number", _l("Policy number"))
    policy = Policy(**_policy_defaults(data))
    db.session.add(policy)
    activity.record("create", policy)
    _commit()
    return policy


def update_policy(policy_id, data):
    """Change a policy's fields."""
    policy = get_policy(policy_id)
    if "truck_id" in data and db.session.get(Truck, data["truck_id"]) is None:
        raise invalid("truck_id", _l("No truck with id %(id)s.", id=data["truck_id"]))
    if "number" in data:
        _taken(Policy, "number", data["number"], "number", _l("Policy number"), policy.id)
    for key in ("autonomous_coefficient", "violation_coefficient"):
        if key in data and data[key] is None:
            raise invalid(key, _l("A coefficient cannot be removed; use 1 where it does not apply."))
    start, end = data.get("start_date", policy.start_date), data.get("end_date", policy.end_date)
    if end <= start:
        raise invalid("end_date", _l("End date must be after the start date."))
    before, after = activity.changes(policy, data)
    if after:
        activity.record("update", policy, before, after)
    _commit()
    return policy


from .policy_import import import_policy_export  # noqa: E402,F401  (one service entry point for imports)
