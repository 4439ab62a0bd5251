"""REST API for operators, trucks and policies (operations staff only)."""
import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_smorest.fields import Upload

from ..auth.access import OPS, require
from ..imports import read_upload
from ..list_exports import page_or_xlsx, xlsx_doc
from ..paging import page_schema
from . import service
from .lists import OPERATORS, POLICIES, TRUCKS
from .schemas import (
    EligibilityArgs,
    EligibilitySchema,
    ImportResultSchema,
    OperatorArgs,
    OperatorPatchSchema,
    OperatorSchema,
    PolicyArgs,
    PolicyPatchSchema,
    PolicySchema,
    TruckArgs,
    TruckDetailSchema,
    TruckPatchSchema,
    TruckSchema,
)

blp = Blueprint("fleet_api", __name__, url_prefix="/api", description="Operators, trucks and policies")


@blp.route("/operators")
class Operators(MethodView):
    @require(OPS)
    @blp.arguments(OPERATORS.args(OperatorArgs), location="query")
    @blp.response(200, page_schema(OperatorSchema, "OperatorPage"))
    @xlsx_doc(blp)
    def get(self, args):
        """List operators (search by name or credit code)."""
        return page_or_xlsx(OPERATORS, args)

    @require(OPS)
    @blp.arguments(OperatorSchema)
    @blp.response(201, OperatorSchema)
    def post(self, data):
        """Register an operator."""
        return service.create_operator(data)


@blp.route("/operators/<int:operator_id>")
class OperatorItem(MethodView):
    @require(OPS)
    @blp.response(200, OperatorSchema)
    def get(self, operator_id):
        """One operator."""
        return service.get_operator(operator_id)

    @require(OPS)
    @blp.arguments(OperatorPatchSchema)
    @blp.response(200, OperatorSchema)
    def patch(self, data, operator_id):
        """Change an operator."""
        return service.update_operator(operator_id, data)


@blp.route("/trucks")
class Trucks(MethodView):
    @require(OPS)
    @blp.arguments(TRUCKS.args(TruckArgs), location="query")
    @blp.response(200, page_schema(TruckSchema, "TruckPage"))
    @xlsx_doc(blp)
    def get(self, args):
        """List trucks (search by plate or VIN; filter by county, operator, heavy, vehicle type)."""
        return page_or_xlsx(TRUCKS, args)

    @require(OPS)
    @blp.arguments(TruckSchema)
    @blp.response(201, TruckSchema)
    def post(self, data):
        """Register a truck."""
        return service.create_truck(data)


@blp.route("/trucks/<int:truck_id>")
class TruckItem(MethodView):
    @require(OPS)
    @blp.response(200, TruckDetailSchema)
    def get(self, truck_id):
        """One truck with its policies and whether it is heavy."""
        return service.get_truck(truck_id)

    @require(OPS)
    @blp.arguments(TruckPatchSchema)
    @blp.response(200, TruckSchema)
    def patch(self, data, truck_id):
        """Change a truck."""
        return service.update_truck(truck_id, data)


@blp.route("/trucks/<int:truck_id>/eligibility")
class TruckEligibility(MethodView):
    @require(OPS)
    @blp.arguments(EligibilityArgs, location="query")
    @blp.response(200, EligibilitySchema)
    def get(self, args, truck_id):
        """Whether the truck may get a device on a day, and if not, why."""
        truck = service.get_truck(truck_id)
        day = args["on"] or service.today()
        reasons = service.eligibility(truck, day)
        return {"truck_id": truck.id, "on": day, "eligible": not reasons, "reasons": reasons}


@blp.route("/policies")
class Policies(MethodView):
    @require(OPS)
    @blp.arguments(POLICIES.args(PolicyArgs), location="query")
    @blp.response(200, page_schema(PolicySchema, "PolicyPage"))
    @xlsx_doc(blp)
    def get(self, args):
        """List policies (search by number or plate; filter by truck, kind, in force on a day)."""
        return page_or_xlsx(POLICIES, args)

    @require(OPS)
    @blp.arguments(PolicySchema)
    @blp.response(201, PolicySchema)
    def post(self, data):
        """Record a policy."""
        return service.create_policy(data)


class ImportFileSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "The policy-system export (.csv or .xlsx)."})


@blp.route("/policies/import")
class PolicyImport(MethodView):
    @require(OPS)
    @blp.arguments(ImportFileSchema, location="files")
    @blp.response(200, ImportResultSchema)
    def post(self, files):
        """Import operators, trucks and policies from the policy-system export (all or nothing)."""
        data, filename = read_upload(files["file"])
        return service.import_policy_export(data, filename)


@blp.route("/policies/<int:policy_id>")
class PolicyItem(MethodView):
    @require(OPS)
    @blp.response(200, PolicySchema)
    def get(self, policy_id):
        """One policy."""
        return service.get_policy(policy_id)

    @require(OPS)
    @blp.arguments(PolicyPatchSchema)
    @blp.response(200, PolicySchema)
    def patch(self, data, policy_id):
        """Change a policy."""
        return service.update_policy(policy_id, data)
