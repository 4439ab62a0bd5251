"""REST API for the SLA report (operations only): JSON, or one of its tables as CSV."""
import marshmallow as ma
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from ..auth.access import OPS, require
from ..downloads import csv_response
from . import reports

blp = Blueprint("maintenance_sla_api", __name__, url_prefix="/api", description="Ticket SLA and maintenance reports")


class SlaReportArgs(ma.Schema):
    start = ma.fields.Date(data_key="from", load_default=None,
                           metadata={"description": "first day (local), default: the first day of the month two months ago"})
    end = ma.fields.Date(data_key="to", load_default=None, metadata={"description": "last day (local), default: today"})
    format = ma.fields.String(load_default="json", validate=ma.validate.OneOf(["json", "csv"]))
    table = ma.fields.String(load_default=None, validate=ma.validate.OneOf(list(reports.TABLES)),
                             metadata={"description": "the table exported as CSV (needed with format=csv)"})

    @ma.validates_schema
    def _csv_needs_table(self, data, **kwargs):
        if data["format"] == "csv" and not data["table"]:
            raise ma.ValidationError(_l("Say which table to export: one of %(tables)s.", tables=", ".join(reports.TABLES)), "table")


class GroupFields(ma.Schema):
    open = ma.fields.Integer()
    at_risk = ma.fields.Integer(metadata={"description": "open tickets marked at risk"})
    breached = ma.fields.Integer(metadata={"description": "open tickets marked breached"})
    resolved = ma.fields.Integer(metadata={"description": "tickets resolved in the period"})
    resolved_late = ma.fields.Integer(metadata={"description": "of those, resolved after their due time (breached)"})
    mttr_hours = ma.fields.Decimal(as_string=True, allow_none=True, metadata={"description": "mean time to resolve"})


class ContractorRowSchema(GroupFields):
    company_id = ma.fields.Integer(allow_none=True, metadata={"description": "null for the unassigned tickets"})
    company = ma.fields.String()


class CategoryRowSchema(GroupFields):
    category = ma.fields.String()


class AgeRowSchema(ma.Schema):
    bucket = ma.fields.String(metadata={"description": "under_1_day, 1_to_3_days, 3_to_7_days, 7_days_and_more, total"})
    min_days = ma.fields.Integer(allow_none=True)
    max_days = ma.fields.Integer(allow_none=True, metadata={"description": "exclusive; null for the last bucket"})
    open = ma.fields.Integer()
    assigned = ma.fields.Integer()
    in_progress = ma.fields.Integer()
    total = ma.fields.Integer()


class CostRowSchema(ma.Schema):
    period = ma.fields.String(metadata={"description": "ledger month YYYY-MM, or total"})
    maintenance_labour = ma.fields.Decimal(as_string=True)
    parts = ma.fields.Decimal(as_string=True)
    travel = ma.fields.Decimal(as_string=True)
    total = ma.fields.Decimal(as_string=True)


class SlaReportSchema(ma.Schema):
    start = ma.fields.Date(data_key="from")
    end = ma.fields.Date(data_key="to")
    as_of = ma.fields.DateTime()
    open_by_age = ma.fields.List(ma.fields.Nested(AgeRowSchema))
    open_total = ma.fields.Nested(AgeRowSchema)
    by_contractor = ma.fields.List(ma.fields.Nested(ContractorRowSchema))
    by_category = ma.fields.List(ma.fields.Nested(CategoryRowSchema))
    costs_by_month = ma.fields.List(ma.fields.Nested(CostRowSchema))
    costs_total = ma.fields.Nested(CostRowSchema)


@blp.route("/reports/sla")
class SlaReport(MethodView):
    @require(OPS)
    @blp.arguments(SlaReportArgs, location="query")
    @blp.response(200, SlaReportSchema)
    def get(self, args):
        """Open tickets by age, SLA marks and MTTR by contractor and category, maintenance cost by month.

        Definitions in ``insurer_dms/maintenance/reports.py``. ``?format=csv&table=ages|contractors|categories|costs``
        downloads one table as CSV.
        """
        start, end = reports.period(args["start"], args["end"])
        report = reports.sla_report(start, end)
        if args["format"] == "csv":
            table = args["table"]
            return csv_response(reports.sla_csv(report, table), reports.csv_filename(report, table))
        return report
