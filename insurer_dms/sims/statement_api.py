"""REST API for carrier statements: upload (queued for reconciliation), list, one statement, the pending sweep."""
import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest.fields import Upload

from .. import fields
from ..auth.access import OPS, require
from ..imports import read_upload
from ..list_exports import page_or_xlsx, xlsx_doc
from ..paging import PageArgs, page_schema
from . import statements
from .models import CARRIERS, STATEMENT_STATES
from .lists import STATEMENTS

blp = Blueprint("sims_statement_api", __name__, url_prefix="/api", description="Carrier statements")

# Statements run to a million lines (~70 MB of CSV): more than the app-wide upload limit allows.


@blp.before_request
def _allow_large_statements():
    request.max_content_length = current_app.config["STATEMENT_MAX_BYTES"]


class ComparisonSchema(ma.Schema):
    """A held version against the month's current version."""

    current_id = fields.Id(metadata={"description": "The month's current version (the one it would supersede)"})
    current_version = fields.Integer(minimum=1)
    current_status = fields.String()
    current_line_count = fields.Integer(minimum=0)
    current_billed_total = fields.SignedMoney()
    line_count = fields.Integer(minimum=0, metadata={"description": "This version's lines"})
    billed_total = fields.SignedMoney(metadata={"description": "This version's billed total"})
    line_share = fields.Decimal(4, minimum=0, maximum=fields.INT_MAX, metadata={"description": "This version's lines / the current version's"})
    threshold = fields.Decimal(4, minimum=0, maximum=1, metadata={"description": "STATEMENT_SHRINK_CONFIRM: under this share a version is held"})


class _Comparison(fields.Nested):
    """Computed from the month's versions (statements.comparison), not a column."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return statements.comparison(obj)


class StatementSchema(ma.Schema):
    id = fields.Id()
    carrier = fields.String()
    period = fields.String(metadata={"description": "The billed month, YYYY-MM"})
    version = fields.Integer(metadata={"description": "1 for the first file of this carrier's month, then 2, 3..."})
    status = fields.String(metadata={"description": (
        "queued, running, done, failed or superseded; needs_confirmation: much smaller than the version it would "
        "supersede, held until an operator confirms it (POST .../confirm) or rejects it (POST .../reject); "
        "rejected: never counts")})
    comparison = _Comparison(ComparisonSchema, allow_none=True, dump_only=True, metadata={
        "description": "For a version held for confirmation: its lines and billed total against the current version's"})
    progress = fields.Integer(metadata={"description": "Reconciliation progress in percent"})
    superseded_by = fields.Integer(attribute="superseded_by_id", allow_none=True,
                                      metadata={"description": "The newer version that replaced this one"})
    filename = fields.String()
    sha256 = fields.String()
    object_key = fields.String(metadata={"description": "The raw file in object storage"})
    line_count = fields.Integer()
    billed_total = fields.SignedMoney()
    expected_total = fields.SignedMoney(allow_none=True)
    job_id = fields.String(allow_none=True)
    error = fields.String(allow_none=True, metadata={"description": "Why the reconciliation failed"})
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    booked_at = fields.DateTime(allow_none=True, metadata={
        "description": "When the statement's lines were written to the cost ledger (once; never for a superseded version)"})


class StatementUploadSchema(ma.Schema):
    """The multipart body: the file, and optionally the carrier (a form field, read from the form)."""

    file = Upload(required=True, metadata={"description": "The carrier's statement (.csv or .xlsx), English or Chinese headers."})
    carrier = fields.String(load_default=None, validate=ma.validate.OneOf(CARRIERS),
                               metadata={"description": "Whose statement; inferred from the ICCIDs' issuer when absent"})


class StatementArgs(PageArgs):
    carrier = fields.String(validate=ma.validate.OneOf(CARRIERS))
    period = fields.String(validate=ma.validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error=_l("Period must be YYYY-MM.")))
    status = fields.String(validate=ma.validate.OneOf(STATEMENT_STATES))


class SweepSchema(ma.Schema):
    pending = fields.Integer(metadata={"description": "Statements waiting for a reconciliation job"})
    enqueued = fields.Integer(metadata={"description": "Jobs enqueued now"})
    in_queue = fields.Integer(metadata={"description": "Statements whose job was already waiting or running"})
    redis_down = fields.Boolean(metadata={"description": "Redis did not answer; try again later"})


@blp.route("/statements")
class Statements(MethodView):
    @require(OPS)
    @blp.arguments(STATEMENTS.args(StatementArgs), location="query")
    @blp.response(200, page_schema(StatementSchema, "StatementPage"))
    @xlsx_doc(blp)
    def get(self, args):
        """List statements (filters: carrier, period, status), newest month first."""
        return page_or_xlsx(STATEMENTS, args)

    @require(OPS)
    @blp.arguments(StatementUploadSchema, location="files")
    @blp.response(202, StatementSchema, description=(
        "Stored and queued for reconciliation (stays queued while Redis is down), or, much smaller than the version "
        "it would supersede, stored as needs_confirmation (see its comparison)."))
    @blp.alt_response(200, schema=StatementSchema, description="The same file (SHA-256) was uploaded before: that statement.")
    def post(self, files):
        """Upload a carrier statement; every bad row is listed (422) and nothing is stored then."""
        data, filename = read_upload(files["file"], max_bytes=request.max_content_length)
        carrier = request.form.get("carrier") or None  # checked by the service (422 naming ``carrier``)
        statement, created = statements.ingest_statement(data, filename, carrier=carrier, user_id=current_user.id)
        return statement, 202 if created else 200


@blp.route("/statements/<int:statement_id>")
class StatementItem(MethodView):
    @require(OPS)
    @blp.response(200, StatementSchema)
    def get(self, statement_id):
        """One statement: status, reconciliation progress, version, the version that superseded it, error."""
        return statements.get_statement(statement_id)


@blp.route("/statements/<int:statement_id>/confirm")
class StatementConfirm(MethodView):
    @require(OPS)
    @blp.response(200, StatementSchema)
    @blp.alt_response(409, description="The statement is not waiting for confirmation.")
    def post(self, statement_id):
        """Confirm a version held for confirmation: it supersedes the month's earlier versions and is reconciled."""
        return statements.confirm_statement(statement_id)


@blp.route("/statements/<int:statement_id>/reject")
class StatementReject(MethodView):
    @require(OPS)
    @blp.response(200, StatementSchema)
    @blp.alt_response(409, description="The statement is not waiting for confirmation.")
    def post(self, statement_id):
        """Reject a version held for confirmation: it is kept as history and never counts."""
        return statements.reject_statement(statement_id)


@blp.route("/statements/sweep")
class StatementSweep(MethodView):
    @require(OPS)
    @blp.response(200, SweepSchema)
    def post(self):
        """Enqueue every statement still waiting for its reconciliation (after Redis was down)."""
        return statements.sweep_queued()
