"""REST API for work orders (ops; contractors see and close their own company's) and contractor companies (ops)."""
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from ..auth.access import CONTRACTOR, OPS, require
from ..list_exports import page_or_xlsx, xlsx_doc
from ..paging import PageArgs, page_schema, paginate_filtered
from . import service
from .schemas import (
    AssignSchema,
    BulkCreateSchema,
    BulkResultSchema,
    CancelSchema,
    CloseRemovalSchema,
    CloseSchema,
    CompanyPatchSchema,
    CompanySchema,
    ReworkSchema,
    ScheduleSchema,
    WorkOrderArgs,
    WorkOrderCreateSchema,
    WorkOrderDetailSchema,
    WorkOrderSchema,
)
from .lists import WORK_ORDERS

blp = Blueprint("installs_api", __name__, url_prefix="/api", description="Installation work orders and contractor companies")


@blp.route("/work-orders")
class WorkOrders(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.arguments(WORK_ORDERS.args(WorkOrderArgs), location="query")
    @blp.response(200, page_schema(WorkOrderSchema, "WorkOrderPage"))
    @xlsx_doc(blp)
    def get(self, args):
        """List work orders (a contractor sees only its own company's)."""
        return page_or_xlsx(WORK_ORDERS, args)

    @require(OPS)
    @blp.arguments(WorkOrderCreateSchema)
    @blp.response(201, WorkOrderDetailSchema)
    def post(self, data):
        """Open a work order on a truck; an ineligible truck is refused (422) with every reason."""
        return service.create_order(data["truck_id"], data["kind"], data["reason"], data["note"], data["on"])


@blp.route("/work-orders/bulk")
class BulkWorkOrders(MethodView):
    @require(OPS)
    @blp.arguments(BulkCreateSchema)
    @blp.response(201, BulkResultSchema)
    def post(self, data):
        """Open install orders for every eligible truck in a county; lists the refused trucks with reasons."""
        return service.bulk_create(data["county_code"], data["on"])


@blp.route("/work-orders/<int:order_id>")
class WorkOrderItem(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.response(200, WorkOrderDetailSchema)
    def get(self, order_id):
        """One work order with its truck, device, SIM and photos (another company's order: 404)."""
        return service.get_order_for(current_user, order_id)


@blp.route("/work-orders/<int:order_id>/assign")
class Assign(MethodView):
    @require(OPS)
    @blp.arguments(AssignSchema)
    @blp.response(200, WorkOrderDetailSchema)
    def post(self, data, order_id):
        """Assign (or reassign) an order to a contractor company."""
        return service.assign(order_id, data["company_id"])


@blp.route("/work-orders/<int:order_id>/schedule")
class Schedule(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.arguments(ScheduleSchema)
    @blp.response(200, WorkOrderDetailSchema)
    def post(self, data, order_id):
        """Record the appointment (the order's contractor or ops)."""
        return service.schedule(current_user, order_id, data["appointment_at"], data["address"])


@blp.route("/work-orders/<int:order_id>/cancel")
class Cancel(MethodView):
    @require(OPS)
    @blp.arguments(CancelSchema)
    @blp.response(200, WorkOrderDetailSchema)
    def post(self, data, order_id):
        """Cancel an order not yet installed, with the reason."""
        return service.cancel(order_id, data["reason"])


@blp.route("/work-orders/<int:order_id>/rework")
class Rework(MethodView):
    @require(OPS)
    @blp.arguments(ReworkSchema)
    @blp.response(200, WorkOrderDetailSchema)
    def post(self, data, order_id):
        """Send an installed order back to its contractor after a failed check."""
        return service.send_to_rework(order_id, data["note"])


@blp.route("/work-orders/<int:order_id>/close")
class Close(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.arguments(CloseSchema)
    @blp.response(200, WorkOrderDetailSchema)
    def post(self, data, order_id):
        """Close an install or swap order: device serial (in stock), SIM, install time; photos must be uploaded."""
        return service.close_order(current_user, order_id, data)


@blp.route("/work-orders/<int:order_id>/close-removal")
class CloseRemoval(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.arguments(CloseRemovalSchema)
    @blp.response(200, WorkOrderDetailSchema)
    def post(self, data, order_id):
        """Close a removal order: device back to stock or retired, SIM suspended."""
        return service.close_removal(current_user, order_id, data["disposition"], data["removed_at"])


@blp.route("/contractor-companies")
class Companies(MethodView):
    @require(OPS)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(CompanySchema, "ContractorCompanyPage"))
    def get(self, args):
        """List contractor companies with their installation fee."""
        return paginate_filtered(service.companies_query, args)


@blp.route("/contractor-companies/<int:company_id>")
class CompanyItem(MethodView):
    @require(OPS)
    @blp.response(200, CompanySchema)
    def get(self, company_id):
        """One contractor company."""
        return service.get_company(company_id)

    @require(OPS)
    @blp.arguments(CompanyPatchSchema)
    @blp.response(200, CompanySchema)
    def patch(self, data, company_id):
        """Set a company's installation fee (null: use the default setting)."""
        return service.update_company(company_id, data)
