"""REST API of the cost ledger: the cost report (JSON, CSV, XLSX), entries, corrections (operations staff only)."""
from flask.views import MethodView
from flask_babel import get_locale
from flask_smorest import Blueprint

from ..auth.access import OPS, require
from ..downloads import csv_response, xlsx_response
from ..paging import page_schema, paginate_filtered
from . import reports, service
from .schemas import CorrectionSchema, CostReportArgs, CostReportSchema, EntryArgs, EntrySchema

blp = Blueprint("ledger_api", __name__, url_prefix="/api", description="The cost ledger: cost reports, entries, corrections")


def report_for(args):
    """The cost report for parsed ``CostReportArgs`` (default: the twelve months up to this one)."""
    from ..fleet.service import today

    period_to = args.get("period_to") or f"{today():%Y-%m}"
    period_from = args.get("period_from") or reports.year_to(period_to)
    return reports.cost_report(period_from, period_to, args.get("county"), args.get("as_of"))


def download(report, fmt):
    """The report as a CSV or XLSX response, headed in the user's language."""
    language = get_locale().language if get_locale() else "en"
    name = f"costs-{report['period_from']}-{report['period_to']}{'-' + report['county'] if report['county'] else ''}.{fmt}"
    if fmt == "csv":
        return csv_response(reports.report_csv(report, language), name)
    return xlsx_response(reports.report_xlsx(report, language), name)


@blp.route("/reports/costs")
class CostReport(MethodView):
    @require(OPS)
    @blp.arguments(CostReportArgs, location="query")
    @blp.response(200, CostReportSchema, description="JSON; with format=csv or xlsx, the same report as a file download.")
    def get(self, args):
        """Costs by month, county, category, contractor and carrier; per truck and truck-year; the ten costliest trucks."""
        report = report_for(args)
        if args["format"] != "json":
            return download(report, args["format"])
        return report


@blp.route("/ledger/entries")
class Entries(MethodView):
    @require(OPS)
    @blp.arguments(EntryArgs, location="query")
    @blp.response(200, page_schema(EntrySchema, "LedgerEntryPage"))
    def get(self, args):
        """Ledger entries, newest first, filtered by truck, device, month, category or source."""
        return paginate_filtered(service.entries_query, args)


@blp.route("/ledger/entries/<int:entry_id>/correction")
class Correction(MethodView):
    @require(OPS)
    @blp.arguments(CorrectionSchema)
    @blp.response(201, EntrySchema, description="The new entry; a reversing entry cancels the corrected one.")
    def post(self, data, entry_id):
        """Correct an entry: a reversing entry plus a new one with the right amount (the entry itself never changes)."""
        return service.correct_entry(entry_id, data["amount"], data["note"])
