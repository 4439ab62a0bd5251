"""Reconciliation pages on the sims blueprint: the results list with filters, exports, re-run, the summary partial."""
from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from ..auth.access import OPS, require
from ..downloads import csv_response, xlsx_response
from ..errors import Conflict
from ..web.pages import list_filters, pager_args
from . import reconciliation, reconciliation_report
from .reconciliation_api import ResultArgs
from .views import bp

STATEMENT_PAGE = "sims.statement_detail"  # the STATEMENT pages' detail endpoint, linked when it exists


def statement_page_url(statement_id):
    if STATEMENT_PAGE in current_app.view_functions:
        return url_for(STATEMENT_PAGE, statement_id=statement_id)
    return None


@bp.app_template_global()
def reconciliation_summary_for(statement):
    """The summary for the statement page's partial, or None while the statement is not reconciled."""
    if statement is None or statement.finished_at is None:
        return None
    return reconciliation.summary(statement.id)


@bp.app_template_global()
def reconciliation_labels():
    """(outcome labels, flag labels) in the user's language, for any page showing results."""
    return reconciliation_report.outcome_labels(), reconciliation_report.flag_labels()


@bp.context_processor
def _reconciliation_labels():
    outcome_labels, flag_labels = reconciliation_labels()
    return {"outcome_labels": outcome_labels, "flag_labels": flag_labels}


@bp.route("/statements/<int:statement_id>/results")
@require(OPS)
def reconciliation_results(statement_id):
    statement = reconciliation.get_statement(statement_id)
    args = list_filters(ResultArgs())
    try:
        result = reconciliation_report.results_page(statement_id, args["outcome"], args["flag"], args["q"],
                                                    args["page"], args["page_size"])
    except Conflict as err:
        return render_template("sims/reconciliation_results.html", statement=statement, result=None, args=args,
                               message=err.message, statement_url=statement_page_url(statement_id)), 409
    return render_template("sims/reconciliation_results.html", statement=statement, result=result, args=args,
                           summary=reconciliation.summary(statement_id), query=pager_args(),
                           statement_url=statement_page_url(statement_id))


def _export_name(statement_id, ext):
    statement = reconciliation.get_statement(statement_id)
    return f"discrepancies-{statement.carrier}-{statement.period}-v{statement.version}.{ext}"


@bp.route("/statements/<int:statement_id>/discrepancies.csv")
@require(OPS)
def reconciliation_export_csv(statement_id):
    return csv_response(reconciliation.discrepancies_csv(statement_id), _export_name(statement_id, "csv"))


@bp.route("/statements/<int:statement_id>/discrepancies.xlsx")
@require(OPS)
def reconciliation_export_xlsx(statement_id):
    return xlsx_response(reconciliation.discrepancies_xlsx(statement_id), _export_name(statement_id, "xlsx"))


@bp.route("/statements/<int:statement_id>/reconcile", methods=["POST"])
@require(OPS)
def reconciliation_rerun(statement_id):
    statement = reconciliation.rerun(statement_id)
    flash(_("The reconciliation of statement %(id)s is %(status)s.", id=statement.id, status=statement.status), "success")
    return redirect(statement_page_url(statement_id) or url_for("sims.reconciliation_results", statement_id=statement_id))
