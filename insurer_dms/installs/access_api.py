"""REST API for data access to the provincial platform, online-status imports and the progress report."""
import marshmallow as ma
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest.fields import Upload

from ..auth.access import CONTRACTOR, OPS, require
from ..downloads import csv_response
from ..extensions import db
from ..fleet.identifiers import CountyCodeField
from ..imports import read_upload
from ..paging import PageArgs, page_schema, paginate
from ..types import utcnow
from . import access, progress

blp = Blueprint("installs_access_api", __name__, url_prefix="/api", description="Data access to the provincial platform, progress")

FORMATS = ma.validate.OneOf(["json", "csv"])


class FormatArgs(ma.Schema):
    format = ma.fields.String(load_default="json", validate=FORMATS, metadata={"description": "json or csv"})


class ConfigSheetSchema(ma.Schema):
    installation_id = ma.fields.Integer()
    work_order_id = ma.fields.Integer()
    work_order_number = ma.fields.String()
    platform_host = ma.fields.String()
    platform_port = ma.fields.Integer()
    terminal_phone = ma.fields.String(allow_none=True, metadata={"description": "MSISDN of the SIM now in the device"})
    plate = ma.fields.String()
    plate_colour = ma.fields.Integer(metadata={"description": "JT/T 808 code: 1 blue, 2 yellow, 3 black, 4 white, 9 other"})
    province_code = ma.fields.String()
    city_code = ma.fields.String()
    county_code = ma.fields.String()
    manufacturer = ma.fields.String()
    terminal_model = ma.fields.String()
    terminal_id = ma.fields.String()
    device_serial = ma.fields.String()
    installed_at = ma.fields.DateTime()


class ConfigSheetsArgs(ma.Schema):
    county_code = CountyCodeField(load_default=None, metadata={"description": "A GB/T 2260 division code (445102)"})


class ConnectionConfirmationSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=1000),
                              metadata={"description": "Why the connection is confirmed by hand"})


class ConnectionResultSchema(ma.Schema):
    id = ma.fields.Integer()
    number = ma.fields.String()
    state = ma.fields.String()
    connected_at = ma.fields.DateTime(allow_none=True)


class OnlineStatusUnmatchedRowSchema(ma.Schema):
    row = ma.fields.Integer()
    value = ma.fields.String()
    reason = ma.fields.String()


class OnlineStatusImportSchema(ma.Schema):
    id = ma.fields.Integer()
    filename = ma.fields.String()
    sha256 = ma.fields.String()
    status = ma.fields.String(metadata={"description": "pending, running, done or failed"})
    rows = ma.fields.Integer(allow_none=True)
    matched = ma.fields.Integer(allow_none=True)
    connected = ma.fields.Integer(allow_none=True, metadata={"description": "orders moved to connected by this import"})
    unmatched = ma.fields.List(ma.fields.Nested(OnlineStatusUnmatchedRowSchema), allow_none=True)
    error = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)


class OnlineStatusFileSchema(ma.Schema):
    file = Upload(required=True, metadata={"description": "The platform's online-status export (.csv or .xlsx)."})


class NeverSeenArgs(PageArgs):
    county_code = CountyCodeField(load_default=None, metadata={"description": "A GB/T 2260 division code (445102)"})


class NeverSeenInstallationSchema(ma.Schema):
    installation_id = ma.fields.Integer()
    work_order_id = ma.fields.Integer()
    work_order_number = ma.fields.String(allow_none=True)
    order_state = ma.fields.String(allow_none=True)
    plate = ma.fields.String()
    county_code = ma.fields.String()
    device_serial = ma.fields.String()
    terminal_id = ma.fields.String()
    terminal_phone = ma.fields.String(allow_none=True)
    installed_at = ma.fields.DateTime()
    age_days = ma.fields.Integer()


class ProgressArgs(FormatArgs):
    on = ma.fields.Date(load_default=None, metadata={"description": "The day to report on (default today in Chaozhou)"})


class ProgressRowSchema(ma.Schema):
    county_code = ma.fields.String(allow_none=True)
    county = ma.fields.String()
    insured = ma.fields.Integer(metadata={"description": "heavy trucks with a policy of ours in force"})
    orders_open = ma.fields.Integer()
    installed = ma.fields.Integer()
    connected = ma.fields.Integer()
    installed_pct = ma.fields.Decimal(as_string=True, places=1, allow_none=True)
    connected_pct = ma.fields.Decimal(as_string=True, places=1, allow_none=True)
    days_left = ma.fields.Integer()


class ProgressReportSchema(ma.Schema):
    on = ma.fields.Date()
    deadline = ma.fields.Date()
    days_left = ma.fields.Integer()
    counties = ma.fields.List(ma.fields.Nested(ProgressRowSchema))
    total = ma.fields.Nested(ProgressRowSchema)


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
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(OnlineStatusImportSchema, "OnlineStatusImportPage"))
    def get(self, args):
        """List online-status imports, newest first."""
        return paginate(access.imports_query(), args["page"], args["page_size"])

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
        """Programme progress by county and in total (?format=csv for a file)."""
        report = progress.progress(args["on"])
        if args["format"] == "csv":
            return csv_response(progress.progress_csv(report), f"progress-{report['on'].isoformat()}.csv")
        return report
