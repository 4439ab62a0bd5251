"""REST API for data access to the provincial platform, online-status imports and the progress report."""
import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest.fields import Upload

from .. import fields
from ..auth.access import CONTRACTOR, OPS, require
from ..downloads import csv_response, xlsx_response
from ..exports import EXPORT_LANGUAGES
from ..extensions import db
from ..fleet.identifiers import CountyCodeField
from ..imports import read_upload
from ..list_exports import page_or_xlsx, xlsx_doc
from ..paging import PageArgs, page_schema, paginate
from ..types import utcnow
from . import access, progress
from .lists import ONLINE_STATUS_IMPORTS

blp = Blueprint("installs_access_api", __name__, url_prefix="/api", description="Data access to the provincial platform, progress")

FORMATS = ma.validate.OneOf(["json", "csv"])


class FormatArgs(ma.Schema):
    format = fields.String(load_default="json", validate=FORMATS, metadata={"description": "json or csv"})


class ConfigSheetSchema(ma.Schema):
    installation_id = fields.Id()
    work_order_id = fields.Id()
    work_order_number = fields.String()
    platform_host = fields.String()
    platform_port = fields.Integer()
    terminal_phone = fields.String(allow_none=True, metadata={"description": "MSISDN of the SIM now in the device"})
    plate = fields.String()
    plate_colour = fields.Integer(metadata={"description": "JT/T 808 code: 1 blue, 2 yellow, 3 black, 4 white, 9 other"})
    province_code = fields.String()
    city_code = fields.String()
    county_code = fields.String()
    manufacturer = fields.String()
    terminal_model = fields.String()
    terminal_id = fields.String()
    device_serial = fields.String()
    installed_at = fields.DateTime()


class ConfigSheetsArgs(ma.Schema):
    county_code = CountyCodeField(load_default=None, metadata={"description": "A GB/T 2260 division code (445102)"})


class ConnectionConfirmationSchema(ma.Schema):
    reason = fields.String(required=True, validate=ma.validate.Length(min=1, max=1000),
                              metadata={"description": "Why the connection is confirmed by hand"})


class ConnectionResultSchema(ma.Schema):
    id = fields.Id()
    number = fields.String()
    state = fields.String()
    connected_at = fields.DateTime(allow_none=True)


class OnlineStatusUnmatchedRowSchema(ma.Schema):
    row = fields.Integer()
    value = fields.String()
    reason = fields.String()


class OnlineStatusImportSchema(ma.Schema):
    id = fields.Id()
    filename = fields.String()
    sha256 = fields.String()
    status = fields.String(metadata={"description": "pending, running, done or failed"})
    rows = fields.Integer(allow_none=True)
    matched = fields.Integer(allow_none=True)
    connected = fields.Integer(allow_none=True, metadata={"description": "orders moved to connected by this import"})
    unmatched = fields.List(fields.Nested(OnlineStatusUnmatchedRowSchema), allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class OnlineStatusFileSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "The platform's online-status export (.csv or .xlsx)."})


class NeverSeenArgs(PageArgs):
    county_code = CountyCodeField(load_default=None, metadata={"description": "A GB/T 2260 division code (445102)"})


class NeverSeenInstallationSchema(ma.Schema):
    installation_id = fields.Id()
    work_order_id = fields.Id()
    work_order_number = fields.String(allow_none=True)
    order_state = fields.String(allow_none=True)
    plate = fields.String()
    county_code = fields.String()
    device_serial = fields.String()
    terminal_id = fields.String()
    terminal_phone = fields.String(allow_none=True)
    installed_at = fields.DateTime()
    age_days = fields.Integer()


class ProgressArgs(ma.Schema):
    on = fields.Date(load_default=None, metadata={"description": "The day to report on (default today in Chaozhou)"})
    format = fields.String(load_default="json", validate=ma.validate.OneOf(["json", "csv", "xlsx"]),
                           metadata={"description": "json, csv or xlsx"})
    lang = fields.String(load_default="zh", validate=ma.validate.OneOf(EXPORT_LANGUAGES),
                         metadata={"description": "the language of a file's headers and labels: zh (default) or en"})


class ProgressFiguresSchema(ma.Schema):
    insured = fields.Integer(metadata={"description": "heavy trucks with a policy of ours in force"})
    orders_open = fields.Integer()
    installed = fields.Integer()
    connected = fields.Integer()
    installed_pct = fields.Decimal(1, minimum=0, maximum=100, allow_none=True)
    connected_pct = fields.Decimal(1, minimum=0, maximum=100, allow_none=True)
    due = fields.Integer(metadata={"description": "insured trucks whose install due date is on or before the day"})
    overdue = fields.Integer(metadata={"description": "insured trucks past their due date with no device on them"})
    oldest_overdue_days = fields.Integer(metadata={"description": "days the longest-overdue truck is past its due date"})


class ProgressRowSchema(ProgressFiguresSchema):
    county_code = fields.String(allow_none=True)
    county = fields.String()


class ProgressContractorRowSchema(ProgressFiguresSchema):
    company_id = fields.Id(allow_none=True, metadata={"description": "null: trucks with no work order or no company"})
    company = fields.String()


class NextDueSchema(ma.Schema):
    due_on = fields.Date()
    trucks = fields.Integer()


class ProgressReportSchema(ma.Schema):
    on = fields.Date()
    deadline = fields.Date()
    install_due_days = fields.Integer(metadata={"description": "INSTALL_DUE_DAYS: days after a first policy starting after the deadline"})
    counties = fields.List(fields.Nested(ProgressRowSchema))
    contractors = fields.List(fields.Nested(ProgressContractorRowSchema))
    total = fields.Nested(ProgressRowSchema)
    next_due = fields.List(fields.Nested(NextDueSchema))


def _order_for_current_user(order_id):
    from . import service

    return service.get_order_for(current_user, order_id)


@blp.route("/work-orders/<int:order_id>/config-sheet")
class ConfigSheet(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.arguments(FormatArgs, location="query")
    @blp.response(200, ConfigSheetSchema)
    def get(self, args, order_id):
        """The configuration sheet of an installed order's device (?format=csv for a file); contractors: own orders."""
        order = _order_for_current_user(order_id)
        if args["format"] == "csv":
            installation = access.installation_of(order)
            return csv_response(access.config_sheet_csv([installation]), f"config-sheet-{order.number}.csv")
        return access.config_sheet(order)


@blp.route("/installations/config-sheets.csv")
class ConfigSheets(MethodView):
    @require(OPS)
    @blp.arguments(ConfigSheetsArgs, location="query")
    @blp.response(200, content_type="text/csv", description="One configuration sheet per current installation.")
    def get(self, args):
        """Configuration sheets of every installed device as CSV (optionally one county)."""
        installations = db.session.scalars(access.current_installations_query(args["county_code"])).all()
        name = f"config-sheets-{args['county_code']}.csv" if args["county_code"] else "config-sheets.csv"
        return csv_response(access.config_sheet_csv(installations), name)


@blp.route("/work-orders/<int:order_id>/confirm-connection")
class ConfirmConnection(MethodView):
    @require(OPS)
    @blp.arguments(ConnectionConfirmationSchema)
    @blp.response(200, ConnectionResultSchema)
    def post(self, data, order_id):
        """Confirm by hand, with a reason, that an installed order's device reaches the platform."""
        return access.mark_connected(order_id, utcnow(), "manual", data["reason"])


@blp.route("/online-status/imports")
class OnlineStatusImports(MethodView):
    @require(OPS)
    @blp.arguments(ONLINE_STATUS_IMPORTS.args(PageArgs), location="query")
    @blp.response(200, page_schema(OnlineStatusImportSchema, "OnlineStatusImportPage"))
    @xlsx_doc(blp)
    def get(self, args):
        """List online-status imports, newest first; sortable, or as XLSX."""
        return page_or_xlsx(ONLINE_STATUS_IMPORTS, args)

    @require(OPS)
    @blp.arguments(OnlineStatusFileSchema, location="files")
    @blp.response(202, OnlineStatusImportSchema, description="Stored and queued for processing.")
    @blp.alt_response(200, schema=OnlineStatusImportSchema, description="The same file was imported before: that import.")
    def post(self, files):
        """Upload the platform's online-status export; it is processed in the background."""
        data, filename = read_upload(files["file"])
        item = access.start_online_status_import(data, filename, current_user.id)
        return item, 200 if getattr(item, "repeated", False) else 202


@blp.route("/online-status/imports/<int:import_id>")
class OnlineStatusImportItem(MethodView):
    @require(OPS)
    @blp.response(200, OnlineStatusImportSchema)
    def get(self, import_id):
        """One online-status import: its status, counts and the rows that matched no installed device."""
        return access.get_import(import_id)


@blp.route("/installations/never-seen")
class NeverSeen(MethodView):
    @require(OPS)
    @blp.arguments(NeverSeenArgs, location="query")
    @blp.response(200, page_schema(NeverSeenInstallationSchema, "NeverSeenPage"))
    def get(self, args):
        """Installed devices the platform has never seen online, oldest first, with their age in days."""
        result = paginate(access.never_seen_query(args["county_code"]), args["page"], args["page_size"])
        result["items"] = access.never_seen_items(result["items"])
        return result


@blp.route("/reports/progress")
class Progress(MethodView):
    @require(OPS)
    @blp.arguments(ProgressArgs, location="query")
    @blp.response(200, ProgressReportSchema)
    def get(self, args):
        """Programme progress by county, by installation contractor and in total, with install due dates and overdue
        trucks (?format=csv or xlsx for a file, headed in Chinese; &lang=en in English)."""
        if args["format"] != "json":
            data, name = progress.progress_file(args["format"], args["lang"], args["on"])
            return (csv_response if args["format"] == "csv" else xlsx_response)(data, name)
        return progress.progress(args["on"])
