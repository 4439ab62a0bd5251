"""Ledger pages for operations staff: the cost report with its exports, and one truck's ledger entries."""
import marshmallow as ma
from flask import Blueprint, flash, render_template, url_for
from flask_babel import gettext as _

from .. import fields
from ..auth.access import OPS, require
from ..errors import Invalid
from ..fleet.identifiers import CHAOZHOU_DIVISIONS
from ..fleet.service import get_truck, today
from ..paging import PageArgs
from ..web import charts
from ..web.pages import listing, list_filters
from . import reports, service
from .api import report_for
from .models import CATEGORIES
from .schemas import CostReportArgs

bp = Blueprint("ledger", __name__, template_folder="templates")


class CostPageArgs(CostReportArgs):
    class Meta:
        exclude = ("format", "as_of")


@bp.route("/costs")
@require(OPS)
def costs_page():
    args = list_filters(CostPageArgs())
    try:
        report = report_for(args)
    except Invalid as err:
        flash("; ".join([err.message, *[m for msgs in err.errors.values() for m in msgs]]), "error")
        report = report_for({})
    query = {"from": report["period_from"], "to": report["period_to"], **({"county": report["county"]} if report["county"] else {})}
    return render_template("ledger/costs.html", report=report, query=query, counties=CHAOZHOU_DIVISIONS,
                           charts=cost_charts(report), this_month=f"{today():%Y-%m}")


def cost_charts(report):
    """Bars of the report's months and categories (the tables below them carry the same figures)."""
    by_month = charts.hbars([(m["period"], [m["amount"]], None) for m in report["by_month"]],
                            [("amount", _("Costs (CNY)"), "#0b6bcb")], fmt=charts.money)
    spent = [r for r in report["by_category"] if r["amount"]]
    by_category = charts.hbars([(r["label"], [r["amount"]], None) for r in spent],
                               [("amount", _("Costs (CNY)"), "#067647")], fmt=charts.money)
    return {"by_month": by_month, "by_category": by_category}


class TruckEntryArgs(PageArgs):
    period = fields.String(load_default=None, validate=ma.validate.Regexp(reports.MONTH))
    category = fields.String(load_default=None, validate=ma.validate.OneOf(CATEGORIES))


@bp.route("/trucks/<int:truck_id>/costs")
@require(OPS)
def truck_entries(truck_id):
    truck = get_truck(truck_id)
    result, args = listing(TruckEntryArgs(), lambda **f: service.entries_query(truck_id=truck.id, **f))
    return render_template("ledger/truck_entries.html", truck=truck, result=result, args=args,
                           total=service.truck_total(truck.id), categories=CATEGORIES)


@bp.app_template_global()
def export_url(fmt, query):
    """The cost report API's download URL for the same filters."""
    return url_for("ledger_api.CostReport", format=fmt, **query)
