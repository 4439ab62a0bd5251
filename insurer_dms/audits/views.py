"""Operations pages of the no-premium-increase audit: runs, a new run, a run's report and findings, publishing."""

import marshmallow as ma
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import activity
from ..auth.access import OPS, require
from ..errors import DomainError
from ..extensions import db
from ..fleet.identifiers import CHAOZHOU_DIVISIONS
from ..labels import label
from ..web.pages import exportable, list_filters, listing, pager_args
from . import service
from .lists import AUDITS
from .schemas import AuditArgs, AuditCreateSchema, AuditFindingArgs

bp = Blueprint("audits", __name__, template_folder="templates")


@bp.context_processor
def _audit_choices():
    return {"counties": CHAOZHOU_DIVISIONS}


def _errors_message(err):
    return "; ".join([err.message, *[m for msgs in err.errors.values() for m in msgs if m != err.message]])


def _started(audit):
    """Say how a new run stands (a draft already when jobs run inline) and show it."""
    flash(_("Audit %(id)s (version %(version)s) is %(status)s.", id=audit.id, version=audit.version,
            status=label("audit_status", audit.status)), "success")
    return redirect(url_for("audits.audit_detail", audit_id=audit.id))


@bp.route("/audits")
@require(OPS)
@exportable(AUDITS.args(AuditArgs), AUDITS)
def list_audits():
    result, args = listing(AUDITS.args(AuditArgs)(), AUDITS)
    return render_template("audits/list.html", result=result, args=args, query=pager_args())


@bp.route("/audits/new", methods=["GET", "POST"])
@require(OPS)
def new_audit():
    form, status = {"period_from": "", "period_to": "", "counties": []}, 200
    if request.method == "POST":
        form = {"period_from": request.form.get("period_from", ""), "period_to": request.form.get("period_to", ""),
                "counties": request.form.getlist("counties")}
        try:
            data = AuditCreateSchema().load({**form, "counties": form["counties"] or None})
            audit = service.create_audit(data["period_from"], data["period_to"], data["counties"], current_user.id)
        except ma.ValidationError as err:
            flash(_("Some fields are invalid: %(fields)s", fields=", ".join(sorted(err.messages))), "error")
            status = 422
        except DomainError as err:
            flash(_errors_message(err), "error")
            status = err.status
        else:
            return _started(audit)
    return render_template("audits/new.html", form=form), status


def _detail(audit_id, status=200):
    audit = service.get_audit_for(current_user, audit_id)
    args = list_filters(AuditFindingArgs())
    findings = service.findings_page(current_user, audit.id, args["county_code"], args["product"], args["page"],
                                     args["page_size"])
    return render_template("audits/detail.html", audit=audit, findings=findings, args=args,
                           versions=service.versions_of(audit),
                           query=pager_args(), history=activity.history("audit_run", audit.id)), status


@bp.route("/audits/<int:audit_id>")
@require(OPS)
def audit_detail(audit_id):
    return _detail(audit_id)


@bp.route("/audits/<int:audit_id>/publish", methods=["POST"])
@require(OPS)
def publish_audit(audit_id):
    try:
        audit = service.publish(audit_id, current_user.id)
    except DomainError as err:
        db.session.rollback()
        flash(_errors_message(err), "error")
        return _detail(audit_id, err.status)
    flash(_("Audit %(id)s is published; its files and their SHA-256 are below.", id=audit.id), "success")
    return redirect(url_for("audits.audit_detail", audit_id=audit.id))


@bp.route("/audits/<int:audit_id>/rerun", methods=["POST"])
@require(OPS)
def rerun_audit(audit_id):
    try:
        audit = service.rerun(audit_id, current_user.id)
    except DomainError as err:
        db.session.rollback()
        flash(_errors_message(err), "error")
        return _detail(audit_id, err.status)
    return _started(audit)


@bp.route("/audits/<int:audit_id>/files/<file_format>")
@require(OPS)
def download_file(audit_id, file_format):
    return service.download(current_user, audit_id, file_format)


@bp.route("/audits/<int:audit_id>/findings/<int:finding_id>")
@require(OPS)
def finding_detail(audit_id, finding_id):
    finding = service.get_finding_for(current_user, audit_id, finding_id)
    return render_template("audits/finding.html", audit=finding.audit, finding=finding,
                           detail=service.finding_detail(finding))
