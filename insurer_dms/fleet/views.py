"""Fleet pages: trucks, policies, operators, and the policy-system import (operations staff only)."""
import marshmallow as ma
from flask import Blueprint, flash, render_template, request
from flask_babel import gettext as _

from .. import activity
from ..auth.access import OPS, require
from ..errors import DomainError, ImportFailed
from ..imports import read_upload
from ..paging import paginate
from . import service
from .identifiers import CHAOZHOU_DIVISIONS
from .models import VEHICLE_TYPES
from .schemas import OperatorArgs, PolicyArgs, TruckArgs

bp = Blueprint("fleet", __name__, template_folder="templates")


def _list_args(schema):
    """Filters from the query string; bad values are reported and ignored."""
    raw = {k: v for k, v in request.args.items() if v != ""}
    try:
        return schema().load(raw, unknown=ma.EXCLUDE)
    except ma.ValidationError as err:
        flash(_("Some filters were ignored: %(fields)s", fields=", ".join(sorted(err.messages))), "error")
        return schema().load({k: v for k, v in raw.items() if k not in err.messages}, unknown=ma.EXCLUDE)


def _listing(schema, query):
    args = _list_args(schema)
    page, page_size = args.pop("page"), args.pop("page_size")
    return paginate(query(**args), page, page_size), args


@bp.context_processor
def _choices():
    return {"counties": CHAOZHOU_DIVISIONS, "vehicle_types": VEHICLE_TYPES}


@bp.route("/trucks")
@require(OPS)
def list_trucks():
    result, args = _listing(TruckArgs, service.truck_query)
    return render_template("fleet/trucks.html", result=result, args=args)


@bp.route("/trucks/<int:truck_id>")
@require(OPS)
def truck_detail(truck_id):
    truck = service.get_truck(truck_id)
    day = service.today()
    return render_template(
        "fleet/truck_detail.html",
        truck=truck,
        day=day,
        reasons=service.eligibility(truck, day),
        history=activity.history("truck", truck.id),
    )


@bp.route("/policies")
@require(OPS)
def list_policies():
    result, args = _listing(PolicyArgs, service.policy_query)
    return render_template("fleet/policies.html", result=result, args=args)


@bp.route("/policies/<int:policy_id>")
@require(OPS)
def policy_detail(policy_id):
    policy = service.get_policy(policy_id)
    return render_template("fleet/policy_detail.html", policy=policy, history=activity.history("policy", policy.id))


@bp.route("/operators")
@require(OPS)
def list_operators():
    result, args = _listing(OperatorArgs, service.operator_query)
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
        try:
            data, filename = read_upload(request.files.get("file"))
            result = service.import_policy_export(data, filename)
        except ImportFailed as err:
            rows, status = err.rows, 422
            flash(err.message, "error")
        except DomainError as err:
            status = err.status
            flash("; ".join([err.message, *[m for msgs in err.errors.values() for m in msgs]]), "error")
    return render_template("fleet/import.html", result=result, rows=rows), status
