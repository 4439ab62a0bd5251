"""REST API for carrier statements: upload (queued for reconciliation), list, one statement, the pending sweep."""
import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest.fields import Upload

from ..auth.access import OPS, require
from ..imports import read_upload
from ..paging import PageArgs, page_schema, paginate_filtered
from . import statements
from .models import CARRIERS, STATEMENT_STATES

blp = Blueprint("sims_statement_api", __name__, url_prefix="/api", description="Carrier statements")

# Statements run to a million lines (~70 MB of CSV): more than the app-wide upload limit allows.


@blp.before_request
def _allow_large_statements():
    request.max_content_length = current_app.config["STATEMENT_MAX_BYTES"]


class StatementSchema(ma.Schema):
    id = ma.fields.Integer()
    carrier = ma.fields.String()
    period = ma.fields.String(metadata={"description": "The billed month, YYYY-MM"})
    version = ma.fields.Integer(metadata={"description": "1 for the first file of this carrier's month, then 2, 3..."})
    status = ma.fields.String(metadata={"description": "queued, running, done, failed or superseded"})
    progress = ma.fields.Integer(metadata={"description": "Reconciliation progress in percent"})
    superseded_by = ma.fields.Integer(attribute="superseded_by_id", allow_none=True,
                                      metadata={"description": "The newer version that replaced this one"})
    filename = ma.fields.String()
    sha256 = ma.fields.String()
    object_key = ma.fields.String(metadata={"description": "The raw file in object storage"})
    line_count = ma.fields.Integer()
    billed_total = ma.fields.Decimal(as_string=True, places=2)
    expected_total = ma.fields.Decimal(as_string=True, places=2, allow_none=True)
    job_id = ma.fields.String(allow_none=True)
    error = ma.fields.String(allow_none=True, metadata={"description": "Why the reconciliation failed"})
    created_at = ma.fields.DateTime()
    finished_at = ma.fields.DateTime(allow_none=True)
    booked_at = ma.fields.DateTime(allow_none=True, metadata={
        "description": "When the statement's lines were written to the cost ledger (once; never for a superseded version)"})


class StatementUploadSchema(ma.Schema):
    """The multipart body: the file, and optionally the carrier (a form field, read from the form)."""

    file = Upload(required=True, metadata={"description": "The carrier's statement (.csv or .xlsx), English or Chinese headers."})
    carrier = ma.fields.String(load_default=None, validate=ma.validate.OneOf(CARRIERS),
                               metadata={"description": "Whose statement; inferred from the ICCIDs' issuer when absent"})


class StatementArgs(PageArgs):
    carrier = ma.fields.String(validate=ma.validate.OneOf(CARRIERS))
    period = ma.fields.String(validate=ma.validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error=_l("Period must be YYYY-MM.")))
    status = ma.fields.String(validate=ma.validate.OneOf(STATEMENT_STATES))


class SweepSchema(ma.Schema):
    pending = ma.fields.Integer(metadata={"description": "Statements waiting for a reconciliation job"})
    enqueued = ma.fields.Integer(metadata={"description": "Jobs enqueued now"})
    in_queue = ma.fields.Integer(metadata={"description": "Statements whose job was already waiting or running"})
    redis_down = ma.fields.Boolean(metadata={"description": "Redis did not answer; try again later"})


@blp.route("/statements")
class Statements(MethodView):
    @require(OPS)
    @blp.arguments(StatementArgs, location="query")
    @blp.response(200, page_schema(StatementSchema, "StatementPage"))
    def get(self, args):
        """List statements (filters: carrier, period, status), newest month first."""
        return paginate_filtered(statements.statements_query, args)

    @require(OPS)
    @blp.arguments(StatementUploadSchema, location="files")
    @blp.response(202, StatementSchema, description="Stored and queued for reconciliation (stays queued while Redis is down).")
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


@blp.route("/statements/sweep")
class StatementSweep(MethodView):
    @require(OPS)
    @blp.response(200, SweepSchema)
    def post(self):
        """Enqueue every statement still waiting for its reconciliation (after Redis was down)."""
        return statements.sweep_queued()
