"""REST API for the SLA report (operations only): JSON, or one of its tables as CSV."""
import marshmallow as ma
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from .. import fields
from ..auth.access import OPS, require
from ..downloads import csv_response
from . import reports

blp = Blueprint("maintenance_sla_api", __name__, url_prefix="/api", description="Ticket SLA and maintenance reports")


class SlaReportArgs(ma.Schema):
    start = fields.Date(data_key="from", load_default=None,
                           metadata={"description": "first day (local), default: the first day of the month two months ago"})
    end = fields.Date(data_key="to", load_default=None, metadata={"description": "last day (local), default: today"})
    format = fields.String(load_default="json", validate=ma.validate.OneOf(["json", "csv"]))
    table = fields.String(load_default=None, validate=ma.validate.OneOf(list(reports.TABLES)),
                             metadata={"description": "the table exported as CSV (needed with format=csv)"})

    @ma.validates_schema
    def _csv_needs_table(self, data, **kwargs):
        if data["format"] == "csv" and not data["table"]:
            raise ma.ValidationError(_l("Say which table to export: one of %(tables)s.", tables=", ".join(reports.TABLES)), "table")


class GroupFields(ma.Schema):
    open = fields.Integer()
    at_risk = fields.Integer(metadata={"description": "open tickets marked at risk"})
    breached = fields.Integer(metadata={"description": "open tickets marked breached"})
    resolved = fields.Integer(metadata={"description": "tickets resolved in the period"})
    resolved_late = fields.Integer(metadata={"description": "of those, resolved after their due time (breached)"})
    mttr_hours = fields.Decimal(1, minimum=0, maximum=fields.MONEY_MAX, allow_none=True, metadata={"description": "mean time to resolve"})


class ContractorRowSchema(GroupFields):
    company_id = fields.Id(allow_none=True, metadata={"description": "null for the unassigned tickets"})
    company = fields.String()


class CategoryRowSchema(GroupFields):
    category = fields.String()


class AgeRowSchema(ma.Schema):
    bucket = fields.String(metadata={"description": "under_1_day, 1_to_3_days, 3_to_7_days, 7_days_and_more, total"})
    min_days = fields.Integer(allow_none=True)
    max_days = fields.Integer(allow_none=True, metadata={"description": "exclusive; null for the last bucket"})
    open = fields.Integer()
    assigned = fields.Integer()
    in_progress = fields.Integer()
    total = fields.Integer()


class CostRowSchema(ma.Schema):
    period = fields.String(metadata={"description": "ledger month YYYY-MM, or total"})
    maintenance_labour = fields.SignedMoney()
    parts = fields.SignedMoney()
    travel = fields.SignedMoney()
    total = fields.SignedMoney()


class SlaReportSchema(ma.Schema):
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")
    as_of = fields.DateTime()
    open_by_age = fields.List(fields.Nested(AgeRowSchema))
    open_total = fields.Nested(AgeRowSchema)
    by_contractor = fields.List(fields.Nested(ContractorRowSchema))
    by_category = fields.List(fields.Nested(CategoryRowSchema))
    costs_by_month = fields.List(fields.Nested(CostRowSchema))
    costs_total = fields.Nested(CostRowSchema)


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
