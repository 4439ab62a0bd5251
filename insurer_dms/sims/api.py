"""REST API for the SIM registry and the carriers' data plans (operations staff only)."""
from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth.access import OPS, require
from ..imports import read_upload
from ..list_exports import page_or_xlsx, xlsx_doc
from ..paging import page_schema
from . import plans, registry
from .schemas import (
    DataPlanListArgs,
    DataPlanPatchSchema,
    DataPlanSchema,
    RegistryFileSchema,
    RegistryImportResultSchema,
    SimCreateSchema,
    SimDetailSchema,
    SimListArgs,
    SimPatchSchema,
    SimSchema,
)
from .lists import PLANS, SIMS

blp = Blueprint("sims_api", __name__, url_prefix="/api", description="SIM cards and the carriers' data plans")

BAD_ROWS = "Bad rows: nothing was stored; ``rows`` lists each row, column and reason."


def _plan_out(plan):
    plan.sim_count = plans.sim_count(plan.id)
    return plan


@blp.route("/data-plans")
class DataPlans(MethodView):
    @require(OPS)
    @blp.arguments(PLANS.args(DataPlanListArgs), location="query")
    @blp.response(200, page_schema(DataPlanSchema, "DataPlanPage"))
    @xlsx_doc(blp)
    def get(self, args):
        """List data plans, by carrier and code."""
        return page_or_xlsx(PLANS, args)

    @require(OPS)
    @blp.arguments(DataPlanSchema)
    @blp.response(201, DataPlanSchema)
    @blp.alt_response(409, description="The carrier already has a plan with this code.")
    def post(self, data):
        """Add a data plan (name defaults to the code, valid_from to 2020-01-01)."""
        return _plan_out(plans.create_plan(data))


@blp.route("/data-plans/<int:plan_id>")
class DataPlan(MethodView):
    @require(OPS)
    @blp.response(200, DataPlanSchema)
    def get(self, plan_id):
        """One data plan, with the number of SIMs on it."""
        return _plan_out(plans.get_plan(plan_id))

    @require(OPS)
    @blp.arguments(DataPlanPatchSchema)
    @blp.response(200, DataPlanSchema)
    @blp.alt_response(409, description="Duplicate code, or a carrier change while SIMs are on the plan.")
    def patch(self, data, plan_id):
        """Change some fields of a data plan."""
        return _plan_out(plans.update_plan(plan_id, data))


@blp.route("/data-plans/import")
class DataPlanImport(MethodView):
    @require(OPS)
    @blp.arguments(RegistryFileSchema, location="files")
    @blp.response(201, RegistryImportResultSchema)
    @blp.alt_response(422, description=BAD_ROWS)
    def post(self, files):
        """Import data plans from CSV or XLSX (code, carrier, monthly_fee, allowance_mb, overage_per_mb; all or nothing)."""
        data, filename = read_upload(files["file"])
        return plans.import_plans(data, filename)


@blp.route("/sims")
class Sims(MethodView):
    @require(OPS)
    @blp.arguments(SIMS.args(SimListArgs), location="query")
    @blp.response(200, page_schema(SimSchema, "SimPage"))
    @xlsx_doc(blp)
    def get(self, args):
        """List SIMs, filtered by carrier, status, plan, or part of the ICCID or number."""
        return page_or_xlsx(SIMS, args)

    @require(OPS)
    @blp.arguments(SimCreateSchema)
    @blp.response(201, SimSchema)
    @blp.alt_response(409, description="The ICCID or the terminal number is already registered.")
    def post(self, data):
        """Register a SIM (carrier from the ICCID's issuer prefix; a declared carrier must agree)."""
        return registry.create_sim(data)


def _detail(sim_id):
    sim, assignments, history = registry.sim_detail(sim_id)
    return {**{name: getattr(sim, name) for name in SimSchema().fields}, "assignments": assignments, "history": history}


@blp.route("/sims/<int:sim_id>")
class Sim(MethodView):
    @require(OPS)
    @blp.response(200, SimDetailSchema)
    def get(self, sim_id):
        """One SIM with its devices and trucks over time and its history."""
        return _detail(sim_id)

    @require(OPS)
    @blp.arguments(SimPatchSchema)
    @blp.response(200, SimDetailSchema)
    @blp.alt_response(409, description="A status change that is not allowed from the current status.")
    def patch(self, data, sim_id):
        """Change a SIM's plan, or its status with the date (activated_on / deactivated_on)."""
        registry.update_sim(sim_id, data)
        return _detail(sim_id)


@blp.route("/sims/import")
class SimImport(MethodView):
    @require(OPS)
    @blp.arguments(RegistryFileSchema, location="files")
    @blp.response(201, RegistryImportResultSchema)
    @blp.alt_response(422, description=BAD_ROWS)
    def post(self, files):
        """Register SIMs from CSV or XLSX (iccid, msisdn, plan [+ carrier, status, activated_on]; all or nothing)."""
        data, filename = read_upload(files["file"])
        return registry.import_sims(data, filename)
