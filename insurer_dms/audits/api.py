"""REST API of no-premium-increase audits: runs (ops create, re-run, publish), findings and frozen report files.

Reviewers read published runs only: a draft answers them 404, every write 403.
"""
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from ..auth.access import OPS, REVIEWER, require
from ..list_exports import page_or_xlsx, xlsx_doc
from ..paging import page_schema
from . import service
from .lists import AUDITS
from .schemas import (
    AuditArgs,
    AuditCreateSchema,
    AuditFindingArgs,
    AuditFindingDetailSchema,
    AuditFindingSchema,
    AuditSchema,
)

blp = Blueprint("audits_api", __name__, url_prefix="/api", description="No-premium-increase audits and their review")

@blp.route("/audits")
class Audits(MethodView):
    @require(OPS, REVIEWER)
    @blp.arguments(AUDITS.args(AuditArgs), location="query")
    @blp.response(200, page_schema(AuditSchema, "AuditPage"))
    @xlsx_doc(blp)
    def get(self, args):
        """List audit runs, newest first (a reviewer sees published ones only)."""
        return page_or_xlsx(AUDITS, args)

    @require(OPS)
    @blp.arguments(AuditCreateSchema)
    @blp.response(202, AuditSchema, description="Queued (or, without Redis, already run).")
    def post(self, data):
        """Audit the renewals starting in a period (optionally some counties): the next version of that scope."""
        return service.create_audit(data["period_from"], data["period_to"], data["counties"], current_user.id)


@blp.route("/audits/<int:audit_id>")
class AuditItem(MethodView):
    @require(OPS, REVIEWER)
    @blp.response(200, AuditSchema)
    def get(self, audit_id):
        """One run: status, summary per county and product, cohort comparison, files with their SHA-256."""
        return service.get_audit_for(current_user, audit_id)


@blp.route("/audits/<int:audit_id>/findings")
class Findings(MethodView):
    @require(OPS, REVIEWER)
    @blp.arguments(AuditFindingArgs, location="query")
    @blp.response(200, page_schema(AuditFindingSchema, "AuditFindingPage"))
    def get(self, args, audit_id):
        """A run's findings, largest excess premium first (filters: county_code, product)."""
        return service.findings_page(current_user, audit_id, args["county_code"], args["product"], args["page"],
                                     args["page_size"])


@blp.route("/audits/<int:audit_id>/findings/<int:finding_id>")
class FindingItem(MethodView):
    @require(OPS, REVIEWER)
    @blp.response(200, AuditFindingDetailSchema)
    def get(self, audit_id, finding_id):
        """One finding with the figures of the previous policy and of the renewal."""
        return service.finding_detail(service.get_finding_for(current_user, audit_id, finding_id))


@blp.route("/audits/<int:audit_id>/publish")
class Publish(MethodView):
    @require(OPS)
    @blp.response(200, AuditSchema)
    def post(self, audit_id):
        """Freeze a draft: hash its inputs, render CSV, XLSX and PDF (Chinese and English), store them.

        409 unless a draft, and when no CJK font is there to write the PDF with (the run stays a draft).
        """
        return service.publish(audit_id, current_user.id)


@blp.route("/audits/<int:audit_id>/rerun")
class Rerun(MethodView):
    @require(OPS)
    @blp.response(202, AuditSchema, description="The new version, queued (or, without Redis, already run).")
    def post(self, audit_id):
        """Run an audit's period and counties again: a new version (a published one never changes)."""
        return service.rerun(audit_id, current_user.id)


@blp.route("/audits/<int:audit_id>/files/<file_format>")
class ReportFile(MethodView):
    @require(OPS, REVIEWER)
    @blp.response(200, description="The report file of a published run: csv, xlsx, pdf (Chinese) or pdf_en (English).",
                  headers={service.SHA_HEADER: {"description": "SHA-256 (hex) of the file, as stored and shown on the page",
                                        "schema": {"type": "string"}}})
    def get(self, audit_id, file_format):
        """Download a published run's report as csv, xlsx, pdf (Chinese) or pdf_en (English).

        The SHA-256 is in the X-Content-SHA256 header.
        """
        return service.download(current_user, audit_id, file_format)
