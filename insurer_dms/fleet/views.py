"""Fleet pages: trucks, policies, operators, and the policy-system import (operations staff only)."""
from flask import Blueprint, render_template, request
from flask_login import current_user

from .. import activity
from ..auth.access import OPS, require
from ..web.pages import exportable, listing, run_import
from . import service, truck_overview
from .identifiers import CHAOZHOU_DIVISIONS
from .models import VEHICLE_TYPES
from .schemas import OperatorArgs, PolicyArgs, TruckArgs
from .lists import OPERATORS, POLICIES, TRUCKS

bp = Blueprint("fleet", __name__, template_folder="templates")


@bp.context_processor
def _choices():
    return {"counties": CHAOZHOU_DIVISIONS, "vehicle_types": VEHICLE_TYPES}


@bp.route("/trucks")
@require(OPS)
@exportable(TRUCKS.args(TruckArgs), TRUCKS)
def list_trucks():
    result, args = listing(TRUCKS.args(TruckArgs)(), TRUCKS)
    return render_template("fleet/trucks.html", result=result, args=args)


@bp.route("/trucks/<int:truck_id>")
@require(OPS)
def truck_detail(truck_id):
    from ..installs.due import truck_due
    from ..installs.evidence_view import truck_photos

    record = truck_overview.overview(truck_id)
    day = service.today()
    installed = any(i.removed_at is None for i in record["installations"])
    return render_template("fleet/truck_detail.html", day=day, reasons=service.eligibility(record["truck"], day),
                           due=truck_due(record["truck"], installed, day), evidence=truck_photos(current_user, truck_id),
                           **record)


@bp.route("/policies")
@require(OPS)
@exportable(POLICIES.args(PolicyArgs), POLICIES)
def list_policies():
    result, args = listing(POLICIES.args(PolicyArgs)(), POLICIES)
    return render_template("fleet/policies.html", result=result, args=args)


@bp.route("/policies/<int:policy_id>")
@require(OPS)
def policy_detail(policy_id):
    policy = service.get_policy(policy_id)
    return render_template("fleet/policy_detail.html", policy=policy, history=activity.history("policy", policy.id))


@bp.route("/operators")
@require(OPS)
@exportable(OPERATORS.args(OperatorArgs), OPERATORS)
def list_operators():
    result, args = listing(OPERATORS.args(OperatorArgs)(), OPERATORS)
    return render_template("fleet/operators.html", result=result, args=args)


@bp.route("/operators/<int:operator_id>")
@require(OPS)
def operator_detail(operator_id):
    operator = service.get_operator(operator_id)
    return render_template("fleet/operator_detail.html", operator=operator, history=activity.history("operator", operator.id))


@bp.route("/policies/import", methods=["GET", "POST"])
@require(OPS)
def import_page():
    result, rows, status = None, None, 200
    if request.method == "POST":
        result, rows, _message, status = run_import(service.import_policy_export)
    return render_template("fleet/import.html", result=result, rows=rows), status
