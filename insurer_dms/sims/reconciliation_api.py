"""REST API of statement reconciliation: summary, results, discrepancy exports and re-running (ops only)."""
import marshmallow as ma
from flask.views import MethodView
from flask_smorest import Blueprint

from .. import fields
from ..auth.access import OPS, require
from ..downloads import csv_response, xlsx_response
from ..paging import PageArgs, page_schema
from . import reconciliation, reconciliation_report
from .models import OUTCOMES

blp = Blueprint("sims_reconciliation_api", __name__, url_prefix="/api", description="Reconciliation of carrier statements: summary, results, discrepancy exports")

Money = fields.SignedMoney  # results: a difference may be negative


class OutcomeTotalsSchema(ma.Schema):
    count = fields.Integer()
    billed = Money()
    expected = Money()
    difference = Money(metadata={"description": "billed - expected"})


class FlagCountsSchema(ma.Schema):
    zero_usage_installed = fields.Integer(metadata={"description": "installed device, 0 KB used: probably offline"})
    over_allowance = fields.Integer(metadata={"description": "more than 1.5 x the plan's allowance"})


class SummarySchema(ma.Schema):
    statement_id = fields.Id()
    carrier = fields.String()
    period = fields.String()
    version = fields.Integer()
    status = fields.String()
    lines = fields.Integer()
    billed_total = Money()
    expected_total = Money(metadata={"description": "expected for every line and every missing SIM"})
    amount_in_dispute = Money(metadata={"description": "billed beyond what is due, over the non-matched results"})
    outcomes = fields.Dict(keys=fields.String(), values=fields.Nested(OutcomeTotalsSchema))
    flags = fields.Nested(FlagCountsSchema)
    finished_at = fields.DateTime(allow_none=True)


class ResultSchema(ma.Schema):
    id = fields.Id(allow_none=True, metadata={"description": "None for a plain match (matched to the fen, "
                                                                "no flag): it is not stored"})
    line_id = fields.Id(allow_none=True, metadata={"description": "None for a missing SIM"})
    row = fields.Integer(allow_none=True, metadata={"description": "the row in the carrier's file"})
    sim_id = fields.Id(allow_none=True, metadata={"description": "None for an unknown SIM"})
    iccid = fields.String()
    msisdn = fields.String(allow_none=True)
    truck_id = fields.Id(allow_none=True)
    plate = fields.String(allow_none=True)
    outcome = fields.String(metadata={"description": ", ".join(OUTCOMES)})
    billed = Money(allow_none=True)
    expected = Money(allow_none=True)
    difference = Money(allow_none=True)
    zero_usage_installed = fields.Boolean()
    over_allowance = fields.Boolean()
    reason = fields.String()


class ResultArgs(PageArgs):
    outcome = fields.String(load_default=None, validate=ma.validate.OneOf(OUTCOMES))
    flag = fields.String(load_default=None, validate=ma.validate.OneOf(reconciliation_report.FLAGS))
    q = fields.String(load_default=None, metadata={"description": "part of the ICCID"})


class RerunSchema(ma.Schema):
    id = fields.Id()
    status = fields.String()
    progress = fields.Integer()
    job_id = fields.String(allow_none=True)


@blp.route("/statements/<int:statement_id>/summary")
class Summary(MethodView):
    @require(OPS)
    @blp.response(200, SummarySchema)
    def get(self, statement_id):
        """Totals of a reconciled statement: lines, billed, expected, per outcome and flag (409 until reconciled)."""
        return reconciliation.summary(statement_id)


@blp.route("/statements/<int:statement_id>/results")
class Results(MethodView):
    @require(OPS)
    @blp.arguments(ResultArgs, location="query")
    @blp.response(200, page_schema(ResultSchema, "ReconciliationResultPage"))
    def get(self, args, statement_id):
        """The reconciliation results of a statement, filtered by outcome, flag or ICCID, in file row order."""
        return reconciliation_report.results_page(statement_id, args["outcome"], args["flag"], args["q"],
                                                  args["page"], args["page_size"])


@blp.route("/statements/<int:statement_id>/discrepancies.csv")
class DiscrepanciesCsv(MethodView):
    @require(OPS)
    @blp.response(200, content_type="text/csv", description="Every result that is not a clean match.")
    def get(self, statement_id):
        """The discrepancy export for the carrier as CSV (UTF-8 with BOM)."""
        return csv_response(reconciliation.discrepancies_csv(statement_id), _filename(statement_id, "csv"))


@blp.route("/statements/<int:statement_id>/discrepancies.xlsx")
class DiscrepanciesXlsx(MethodView):
    @require(OPS)
    @blp.response(200, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                  description="Every result that is not a clean match.")
    def get(self, statement_id):
        """The discrepancy export for the carrier as XLSX."""
        return xlsx_response(reconciliation.discrepancies_xlsx(statement_id), _filename(statement_id, "xlsx"))


@blp.route("/statements/<int:statement_id>/reconcile")
class Rerun(MethodView):
    @require(OPS)
    @blp.response(202, RerunSchema, description="Queued (or, without Redis, already run).")
    @blp.alt_response(409, description="The statement is held for confirmation or rejected: it is not reconciled.")
    def post(self, statement_id):
        """Run the statement's reconciliation again (idempotent: same results, nothing booked twice)."""
        return reconciliation.rerun(statement_id)


def _filename(statement_id, ext):
    statement = reconciliation.get_statement(statement_id)
    return f"discrepancies-{statement.carrier}-{statement.period}-v{statement.version}.{ext}"
