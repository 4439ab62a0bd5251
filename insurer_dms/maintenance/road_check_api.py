"""REST API for road-check findings imports (operations only)."""
import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest.fields import Upload

from .. import fields
from ..auth.access import OPS, require
from ..imports import read_upload
from ..list_exports import page_or_xlsx, xlsx_doc
from ..paging import PageArgs, page_schema, paginate
from . import road_checks
from .lists import ROAD_CHECK_IMPORTS
from .models import FINDING_OUTCOMES, FINDINGS

blp = Blueprint("maintenance_road_checks_api", __name__, url_prefix="/api", description="Road-check findings imports")


class RoadCheckFileSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "The road-check findings (.csv or .xlsx): date, plate, "
                                                          "location, finding (English or Chinese headers)."})


class UnknownPlateSchema(ma.Schema):
    row = fields.Integer()
    plate = fields.String()


class RoadCheckImportSchema(ma.Schema):
    id = fields.Id()
    filename = fields.String()
    sha256 = fields.String()
    rows = fields.Integer()
    tickets = fields.Integer(metadata={"description": "rows that opened or updated a ticket"})
    work_orders = fields.Integer(metadata={"description": "rows that opened an installation work order"})
    recorded = fields.Integer(metadata={"description": "trucks without a device and not eligible: recorded"})
    unknown_plates = fields.Integer(metadata={"description": "rows whose plate is no truck of ours"})
    created_at = fields.DateTime()
    created_by_id = fields.Id(allow_none=True)


class RoadCheckImportResultSchema(RoadCheckImportSchema):
    unknown = fields.List(fields.Nested(UnknownPlateSchema), metadata={"description": "the unknown plates"})


class RoadCheckFindingSchema(ma.Schema):
    id = fields.Id()
    row_no = fields.Integer(metadata={"description": "row in the file (the header is row 1)"})
    checked_on = fields.Date()
    plate = fields.String()
    location = fields.String(allow_none=True)
    finding = fields.String(metadata={"description": ", ".join(FINDINGS)})
    truck_id = fields.Id(allow_none=True)
    outcome = fields.String(metadata={"description": ", ".join(FINDING_OUTCOMES)})
    reason = fields.String(allow_none=True, metadata={"description": "eligibility reason codes when recorded"})
    ticket_id = fields.Id(allow_none=True)
    ticket_number = fields.String(allow_none=True)
    work_order_id = fields.Id(allow_none=True)
    work_order_number = fields.String(allow_none=True)


class RoadCheckFindingArgs(PageArgs):
    outcome = fields.String(load_default=None, validate=ma.validate.OneOf(FINDING_OUTCOMES))


class RoadCheckDetailSchema(ma.Schema):
    road_check_import = fields.Nested(RoadCheckImportSchema, data_key="import")
    items = fields.List(fields.Nested(RoadCheckFindingSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()
    pages = fields.Integer()


@blp.route("/road-checks/import")
class RoadCheckUpload(MethodView):
    @require(OPS)
    @blp.arguments(RoadCheckFileSchema, location="files")
    @blp.response(201, RoadCheckImportResultSchema, description="Imported: every row acted on.")
    @blp.alt_response(200, schema=RoadCheckImportResultSchema, description="The same file was imported before: that import.")
    def post(self, files):
        """Import road-check findings: tickets, work orders or records per row; all or nothing on bad rows (422)."""
        data, filename = read_upload(files["file"])
        item = road_checks.import_findings(data, filename, current_user.id)
        item.unknown = road_checks.unknown_plates(item.id)
        return item, 200 if item.repeated else 201


@blp.route("/road-checks")
class RoadCheckImports(MethodView):
    @require(OPS)
    @blp.arguments(ROAD_CHECK_IMPORTS.args(PageArgs), location="query")
    @blp.response(200, page_schema(RoadCheckImportSchema, "RoadCheckImportPage"))
    @xlsx_doc(blp)
    def get(self, args):
        """List road-check imports, newest first; sortable, or as XLSX."""
        return page_or_xlsx(ROAD_CHECK_IMPORTS, args)


@blp.route("/road-checks/<int:import_id>")
class RoadCheckImportItem(MethodView):
    @require(OPS)
    @blp.arguments(RoadCheckFindingArgs, location="query")
    @blp.response(200, RoadCheckDetailSchema)
    def get(self, args, import_id):
        """One import with its counts and its findings in file order (paged; ?outcome= to filter)."""
        item = road_checks.get_import(import_id)
        result = paginate(road_checks.findings_query(import_id, args["outcome"]), args["page"], args["page_size"])
        result["items"] = road_checks.finding_items(result["items"])
        return {**result, "road_check_import": item}
