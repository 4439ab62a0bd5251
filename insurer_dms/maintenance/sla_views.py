"""The SLA page (operations): the report's tables for a period, each with a CSV download and links to the tickets."""
from urllib.parse import urlencode

import marshmallow as ma
from flask import Blueprint, abort, current_app, flash, render_template, url_for
from flask_babel import gettext as _

from .. import fields, labels
from ..auth.access import OPS, require
from ..downloads import csv_response
from ..errors import Invalid
from ..web.pages import list_filters
from . import reports

bp = Blueprint("maintenance_sla", __name__, template_folder="templates")

TICKET_LIST = "maintenance.list_tickets"


class PeriodArgs(ma.Schema):
    start = fields.Date(data_key="from")
    end = fields.Date(data_key="to")


def _report():
    """The report for the period in the query string; an invalid period is reported and the default shown."""
    args = list_filters(PeriodArgs())
    try:
        start, end = reports.period(args.get("start"), args.get("end"))
    except Invalid:
        flash(_("The start of the period must be on or before its end, within five years; showing the last three months."),
              "error")
        start, end = reports.period()
    return reports.sla_report(start, end)


def tickets_url(**filters):
    """The ticket list filtered by ``filters`` (state, sla_state, company_id, category)."""
    filters = {k: v for k, v in filters.items() if v is not None}
    if TICKET_LIST in current_app.view_functions:
        return url_for(TICKET_LIST, **filters)
    return "/tickets?" + urlencode(filters)


def age_labels():
    return labels.sla_age_labels()


@bp.route("/reports/sla")
@require(OPS)
def sla_page():
    report = _report()
    period = {"from": report["start"].isoformat(), "to": report["end"].isoformat()}
    share = f"{current_app.config['TICKET_AT_RISK_SHARE'] * 100:g} %"
    return render_template("maintenance/sla.html", report=report, period=period, age_labels=age_labels(),
                           tickets_url=tickets_url, at_risk_share=share)


@bp.route("/reports/sla/<table>.csv")
@require(OPS)
def sla_csv(table):
    if table not in reports.TABLES:
        abort(404)
    report = _report()
    return csv_response(reports.sla_csv(report, table), reports.csv_filename(report, table))
