"""Data plans: create, change, list and import (all or nothing); the carrier's price list the bills are checked against."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from .. import activity
from ..errors import Conflict, NotFound, invalid
from ..extensions import db
from ..transactions import commit_or_conflict, race_guard
from ..imports import RowErrors, column_names, load_rows
from .models import DataPlan, Sim
from .schemas import PLAN_ALIASES, DataPlanImportRowSchema

ENTITY = DataPlan.__tablename__
FIELDS = ("carrier", "code", "name", "monthly_fee", "allowance_mb", "overage_per_mb", "valid_from", "valid_to")
DUPLICATE = _l("This carrier already has a plan with this code.")


def plans_query(carrier=None, q=None, valid_on=None):
    """Plans with their filters, by carrier and code."""
    stmt = select(DataPlan)
    if carrier:
        stmt = stmt.where(DataPlan.carrier == carrier)
    if q:
        text = q.strip()
        stmt = stmt.where(or_(DataPlan.code.icontains(text, autoescape=True), DataPlan.name.icontains(text, autoescape=True)))
    if valid_on:
        stmt = stmt.where(DataPlan.valid_from <= valid_on, or_(DataPlan.valid_to.is_(None), DataPlan.valid_to >= valid_on))
    return stmt.order_by(DataPlan.carrier, DataPlan.code, DataPlan.id)


def all_plans():
    """Every plan, for the filters and forms of the SIM pages."""
    return db.session.scalars(plans_query()).all()


def get_plan(plan_id, lock=False):
    stmt = select(DataPlan).where(DataPlan.id == plan_id)
    if lock:
        stmt = stmt.with_for_update()
    plan = db.session.scalar(stmt)
    if plan is None:
        raise NotFound(_l("Data plan %(id)s does not exist.", id=plan_id))
    return plan


def sim_count(plan_id):
    return db.session.scalar(select(func.count()).select_from(Sim).where(Sim.plan_id == plan_id))


def _code_taken(carrier, code, exclude_id=None):
    stmt = select(DataPlan.id).where(DataPlan.carrier == carrier, DataPlan.code == code)
    if exclude_id is not None:
        stmt = stmt.where(DataPlan.id != exclude_id)
    return db.session.scalar(stmt) is not None


def _commit_or_conflict():
    # Another writer took the same carrier and code between our check and the insert.
    commit_or_conflict(DUPLICATE, "code")


@race_guard()  # the insert is flushed for the activity entry, before the commit
def create_plan(data):
    """Add a plan; its name defaults to its code."""
    data = {**data, "name": data.get("name") or data["code"]}
    if _code_taken(data["carrier"], data["code"]):
        raise Conflict(DUPLICATE, {"code": [DUPLICATE]})
    plan = DataPlan(**data)
    db.session.add(plan)
    activity.record("create", plan)
    _commit_or_conflict()
    return plan


def update_plan(plan_id, data):
    """Change some fields of a plan; its carrier stays that of the SIMs on it."""
    plan = get_plan(plan_id, lock=True)
    merged = {k: data.get(k, getattr(plan, k)) for k in FIELDS}
    if merged["valid_to"] is not None and merged["valid_to"] < merged["valid_from"]:
        raise invalid("valid_to", _l("Must be on or after valid_from."))
    if merged["carrier"] != plan.carrier and sim_count(plan.id):
        message = _l("SIMs are on this plan; its carrier cannot change.")
        raise Conflict(message, {"carrier": [message]})
    if (merged["carrier"], merged["code"]) != (plan.carrier, plan.code) and _code_taken(merged["carrier"], merged["code"], plan.id):
        raise Conflict(DUPLICATE, {"code": [DUPLICATE]})
    before, after = activity.changes(plan, data)
    if after:
        activity.record("update", plan, before, after)
    _commit_or_conflict()
    return plan


@race_guard()
def import_plans(data, filename):
    """Load a plan file: every row valid or nothing stored; rows equal to a stored plan are left alone."""
    errors = RowErrors()
    rows = load_rows(data, filename, DataPlanImportRowSchema(), PLAN_ALIASES, errors=errors)
    # Only what the file says is compared: a column it leaves out (name, validity) is not a difference.
    compared = [f for f in FIELDS if f in rows.columns]
    existing = {(p.carrier, p.code): p for p in db.session.scalars(select(DataPlan))}  # a price list: tens of plans
    seen, to_create, unchanged = {}, [], 0
    for number, values in rows:
        key = (values["carrier"], values["code"])
        if key in seen:
            errors.add(number, rows.columns["code"], _l("Duplicate of row %(row)s (same carrier and code).", row=seen[key]))
            continue
        seen[key] = number
        if key in existing:
            differing = [f for f in compared if getattr(existing[key], f) != values[f]]
            if differing:
                errors.add(number, rows.columns["code"],
                           _l("Plan %(code)s already exists with other values (%(columns)s); edit the plan instead.",
                              code=values["code"], columns=column_names(differing, PLAN_ALIASES)))
            else:
                unchanged += 1
            continue
        to_create.append((number, values))
    errors.raise_if_any()

    created = [(number, DataPlan(**values)) for number, values in to_create]
    db.session.add_all([plan for _, plan in created])
    if created:
        db.session.flush()
        activity.record_many([("import", plan, None, activity.snapshot(plan)) for _, plan in created], note=filename)
    result = {"created": len(created), "unchanged": unchanged}
    _commit_or_conflict()
    return result
