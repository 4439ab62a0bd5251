"""Pages of the regulator's reviewer portal (published reports, findings, queries) and operations' query pages.

A reviewer sees only published reports (a draft's id is a 404, like an unknown one) and writes nothing but
queries and their closure; operations answer queries here. The rules are in ``audits.service`` (who sees which
report) and ``audits.queries`` (the query's life); these views only read forms and render.
"""
from functools import partial

import marshmallow as ma
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import fields
from .. import activity
from ..auth.access import OPS, REVIEWER, require
from ..errors import DomainError
from ..extensions import db
from ..fleet.identifiers import CHAOZHOU_DIVISIONS
from ..paging import PageArgs, paginate
from ..web.pages import listing, list_filters, pager_args
from . import queries, service
from .models import QUERY_STATES, AuditFinding

bp = Blueprint("audits_reviewer", __name__, template_folder="templates")


class QueryPageArgs(PageArgs):
    state = fields.String(validate=ma.validate.OneOf(QUERY_STATES))


def product_labels():
    return {"commercial": _("Commercial"), "compulsory": _("Compulsory")}


@bp.context_processor
def _choices():
    return {"products": product_labels(), "counties": CHAOZHOU_DIVISIONS,
            "all_query_states": QUERY_STATES, "email_of": queries.user_email}


def _refusal(err):
    """A service refusal as one line for the page: the message and each field's reasons."""
    db.session.rollback()
    flash("; ".join([err.message, *[m for msgs in err.errors.values() for m in msgs if m != err.message]]), "error")


def file_url(audit_id, fmt):
    """Where a published report's file downloads: the audit API, whose GETs take the page's session cookie."""
    return url_for("audits_api.ReportFile", audit_id=audit_id, file_format=fmt)


# ---------------------------------------------------------------- the reviewer's portal


@bp.route("/review")
@require(REVIEWER)
def portal():
    """Where a reviewer lands: the published reports, and the queries waiting for them."""
    args = list_filters(PageArgs())
    reports = paginate(service.visible_audits(current_user), args["page"], args["page_size"])
    return render_template("audits/reviewer_portal.html", reports=reports, counts=queries.state_counts(current_user),
                           query=pager_args())


@bp.route("/review/audits/<int:audit_id>")
@require(REVIEWER)
def report(audit_id):
    audit = service.get_audit_for(current_user, audit_id)
    args = list_filters(PageArgs())
    findings = paginate(select(AuditFinding).options(joinedload(AuditFinding.truck)).where(AuditFinding.audit_id == audit.id)
                        .order_by(AuditFinding.id), args["page"], args["page_size"])
    states = queries.latest_states(f.id for f in findings["items"])
    return render_template("audits/reviewer_report.html", audit=audit, findings=findings, states=states,
                           files=[(f, file_url(audit.id, f.format)) for f in audit.files], query=pager_args())


def _finding_page(audit_id, finding_id, status=200, question=""):
    from ..installs.evidence_view import truck_photos

    finding = service.get_finding_for(current_user, audit_id, finding_id)
    return render_template("audits/reviewer_finding.html", finding=finding, audit=finding.audit,
                           refusal=queries.raise_refusal(finding), question=question,
                           evidence=truck_photos(current_user, finding.truck_id)), status


@bp.route("/review/audits/<int:audit_id>/findings/<int:finding_id>")
@require(REVIEWER)
def finding(audit_id, finding_id):
    return _finding_page(audit_id, finding_id)


@bp.route("/review/audits/<int:audit_id>/findings/<int:finding_id>/queries", methods=["POST"])
@require(REVIEWER)
def raise_query(audit_id, finding_id):
    question = request.form.get("question", "")
    try:
        query = queries.raise_query(current_user, audit_id, finding_id, question)
    except DomainError as err:
        _refusal(err)
        return _finding_page(audit_id, finding_id, err.status, question)
    flash(_("Your query was sent to the insurer."), "success")
    return redirect(url_for("audits_reviewer.review_query", query_id=query.id))


@bp.route("/review/queries", endpoint="queries")  # the function's name must not hide the queries module
@require(REVIEWER)
def queries_page():
    result, args = listing(QueryPageArgs(), partial(queries.queries_query, current_user))
    return render_template("audits/reviewer_queries.html", result=result, args=args, query=pager_args(),
                           endpoint="audits_reviewer.queries", detail="audits_reviewer.review_query")


def _query_page(query_id, status=200, form=None):
    query = queries.get_query_for(current_user, query_id)
    finding = query.finding
    return render_template(
        "audits/reviewer_query.html", q=query, finding=finding, audit=finding.audit, form=form or {},
        suggested_refund=queries.suggested_refund(query), history=activity.history("finding_query", query.id),
        attachment_url=url_for("audits_queries_api.QueryAttachment", query_id=query.id) if query.attachment_key else None,
        max_mb=queries.max_attachment_bytes() // 2**20,
    ), status


@bp.route("/review/queries/<int:query_id>")
@require(REVIEWER)
def review_query(query_id):
    return _query_page(query_id)


@bp.route("/review/queries/<int:query_id>/close", methods=["POST"])
@require(REVIEWER)
def close_query(query_id):
    form = request.form
    try:
        queries.close(current_user, query_id, form.get("verdict", ""), form.get("note"), form.get("refund_amount") or None)
    except DomainError as err:
        _refusal(err)
        return _query_page(query_id, err.status, form)
    flash(_("The query is closed."), "success")
    return redirect(url_for("audits_reviewer.review_query", query_id=query_id))


# ---------------------------------------------------------------- operations: answering queries


@bp.route("/queries")
@require(OPS)
def ops_queries():
    result, args = listing(QueryPageArgs(), partial(queries.queries_query, current_user))
    return render_template("audits/reviewer_queries.html", result=result, args=args, query=pager_args(),
                           endpoint="audits_reviewer.ops_queries", detail="audits_reviewer.ops_query")


@bp.route("/queries/<int:query_id>")
@require(OPS)
def ops_query(query_id):
    return _query_page(query_id)


@bp.route("/queries/<int:query_id>/answer", methods=["POST"])
@require(OPS)
def answer_query(query_id):
    try:
        queries.answer(current_user, query_id, request.form.get("answer"), queries.read_attachment(request.files.get("attachment")))
    except DomainError as err:
        _refusal(err)
        return _query_page(query_id, err.status, request.form)
    flash(_("Your answer was sent to the reviewer."), "success")
    return redirect(url_for("audits_reviewer.ops_query", query_id=query_id))
