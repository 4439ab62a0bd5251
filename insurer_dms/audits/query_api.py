"""REST API for reviewers' queries on audit findings: raise (reviewer), answer (operations), close (reviewer)."""
from functools import partial

import marshmallow as ma
from flask import request, url_for
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest.fields import Upload

from .. import fields
from ..auth.access import OPS, REVIEWER, require
from ..downloads import file_response
from ..paging import PageArgs, page_schema, paginate_filtered
from . import queries
from .models import QUERY_STATES

blp = Blueprint("audits_queries_api", __name__, url_prefix="/api", description="Reviewers' queries on audit findings")

FILE_BODY = {"schema": {"type": "string", "format": "binary"}}


class AttachmentSchema(ma.Schema):
    name = fields.String(attribute="attachment_name")
    content_type = fields.String(attribute="attachment_content_type")
    size = fields.Integer(attribute="attachment_size", metadata={"description": "Bytes."})
    sha256 = fields.String(attribute="attachment_sha256")
    url = fields.Function(lambda q: url_for("audits_queries_api.QueryAttachment", query_id=q.id),
                             metadata={"description": "Download it here (operations and reviewers)."})


class FindingQuerySchema(ma.Schema):
    id = fields.Id()
    audit_id = fields.Function(lambda q: q.finding.audit_id)
    finding_id = fields.Id()
    state = fields.String(metadata={"description": "open, answered, accepted (explained) or upheld (a violation)"})
    question = fields.String()
    raised_at = fields.DateTime()
    raised_by = fields.Function(lambda q: queries.user_email(q.raised_by_id))
    answer = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    answered_by = fields.Function(lambda q: queries.user_email(q.answered_by_id))
    attachment = fields.Function(lambda q: AttachmentSchema().dump(q) if q.attachment_key else None,
                                    metadata={"description": "name, content_type, size, sha256, url; null without one"})
    closing_note = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.Function(lambda q: queries.user_email(q.closed_by_id))
    refund_amount = fields.Money(allow_none=True,
                                      metadata={"description": "CNY owed to the operator (upheld only)"})
    ledger_entry_id = fields.Id(allow_none=True, metadata={"description": "The premium_refund ledger entry"})


class QueryRaiseSchema(ma.Schema):
    question = fields.String(required=True, validate=ma.validate.Length(min=1, max=queries.TEXT_MAX))


class QueryAnswerSchema(ma.Schema):
    """The multipart body: the explanation (a form field) and an optional attachment."""

    answer = fields.String(load_default=None, metadata={"description": "The explanation (a form field); required."})
    attachment = Upload(load_default=None, metadata={"description": "PDF, JPEG, PNG or XLSX (checked by content), size-limited."})


class QueryCloseSchema(ma.Schema):
    verdict = fields.String(required=True, validate=ma.validate.OneOf(queries.VERDICTS),
                               metadata={"description": "accepted: explained; upheld: a violation, refund owed"})
    note = fields.String(load_default=None, validate=ma.validate.Length(max=queries.TEXT_MAX),
                            metadata={"description": "Why; required when upheld."})
    refund_amount = fields.Money(load_default=None, allow_none=True,
                                      metadata={"description": "CNY owed to the operator; required (> 0) when upheld, "
                                                               "absent when accepted. Suggested: the finding's excess premium."})


class QueryArgs(PageArgs):
    state = fields.String(validate=ma.validate.OneOf(QUERY_STATES))
    audit_id = fields.Id()
    finding_id = fields.Id()


@blp.route("/audits/<int:audit_id>/findings/<int:finding_id>/queries")
class FindingQueries(MethodView):
    @require(REVIEWER)
    @blp.arguments(QueryRaiseSchema)
    @blp.response(201, FindingQuerySchema)
    @blp.alt_response(404, description="No such finding on a published report.")
    @blp.alt_response(409, description="The finding already has an open query, or was upheld.")
    def post(self, data, audit_id, finding_id):
        """Raise a query on a finding of a published report."""
        return queries.raise_query(current_user, audit_id, finding_id, data["question"])


@blp.route("/queries")
class Queries(MethodView):
    @require(OPS, REVIEWER)
    @blp.arguments(QueryArgs, location="query")
    @blp.response(200, page_schema(FindingQuerySchema, "FindingQueryPage"))
    def get(self, args):
        """List queries, newest first (reviewers: those on published reports; filters: state, audit, finding)."""
        return paginate_filtered(partial(queries.queries_query, current_user), args)


@blp.route("/queries/<int:query_id>")
class QueryItem(MethodView):
    @require(OPS, REVIEWER)
    @blp.response(200, FindingQuerySchema)
    def get(self, query_id):
        """One query with its answer, attachment and verdict."""
        return queries.get_query_for(current_user, query_id)


@blp.route("/queries/<int:query_id>/answer")
class QueryAnswer(MethodView):
    @require(OPS)
    @blp.arguments(QueryAnswerSchema, location="files")
    @blp.response(200, FindingQuerySchema)
    @blp.alt_response(409, description="The query is not open.")
    def post(self, files, query_id):
        """Answer an open query with an explanation and optionally an attachment (multipart form)."""
        upload = queries.read_attachment(files.get("attachment"))
        return queries.answer(current_user, query_id, request.form.get("answer"), upload)


@blp.route("/queries/<int:query_id>/close")
class QueryClose(MethodView):
    @require(REVIEWER)
    @blp.arguments(QueryCloseSchema)
    @blp.response(200, FindingQuerySchema)
    @blp.alt_response(409, description="The query is not answered (yet), or already closed.")
    def post(self, data, query_id):
        """Close an answered query as accepted, or upheld with the refund owed (written to the ledger)."""
        return queries.close(current_user, query_id, data["verdict"], data["note"], data["refund_amount"])


@blp.route("/queries/<int:query_id>/attachment")
class QueryAttachment(MethodView):
    @require(OPS, REVIEWER)
    @blp.doc(responses={"200": {"description": "The attachment.", "content": {t: FILE_BODY for t in queries.ATTACHMENT_TYPES}}})
    @blp.alt_response(404, description="No such query, or it has no attachment.")
    def get(self, query_id):
        """Download the attachment of an answer (its SHA-256 in the ETag)."""
        data, content_type, filename, digest = queries.attachment(current_user, query_id)
        return file_response(data, filename, content_type, {"ETag": f'"{digest}"', "Cache-Control": "private, no-cache"})
