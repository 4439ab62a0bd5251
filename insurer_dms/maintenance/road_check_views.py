"""Operations pages for road-check findings: upload a file, see each import's outcomes and findings."""
from functools import partial

import marshmallow as ma
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import fields
from ..auth.access import OPS, require
from ..paging import PageArgs, paginate
from ..web.pages import exportable, list_filters, listing, pager_args, run_import
from . import road_checks
from .lists import ROAD_CHECK_IMPORTS
from .models import FINDING_OUTCOMES

bp = Blueprint("maintenance_road_checks", __name__, template_folder="templates")


class RoadCheckFindingArgs(PageArgs):
    outcome = fields.String(validate=ma.validate.OneOf(FINDING_OUTCOMES))


@bp.context_processor
def _refusals():
    from ..installs.views import refusal_labels

    return {"refusals": refusal_labels()}


@bp.route("/road-checks", methods=["GET", "POST"])
@require(OPS)
@exportable(ROAD_CHECK_IMPORTS.args(PageArgs), ROAD_CHECK_IMPORTS)
def road_checks_page():
    rows, status = None, 200
    if request.method == "POST":
        item, rows, _message, status = run_import(partial(road_checks.import_findings, user_id=current_user.id))
        if item is not None:
            if item.repeated:
                flash(_("This file was imported before; here is that import."), "success")
            return redirect(url_for("maintenance_road_checks.road_check_detail", import_id=item.id))
    result, _filters = listing(ROAD_CHECK_IMPORTS.args(PageArgs)(), ROAD_CHECK_IMPORTS)
    return render_template("maintenance/road_checks.html", result=result, rows=rows, query=pager_args()), status


@bp.route("/road-checks/<int:import_id>")
@require(OPS)
def road_check_detail(import_id):
    item = road_checks.get_import(import_id)
    args = list_filters(RoadCheckFindingArgs())
    result = paginate(road_checks.findings_query(import_id, args.get("outcome")), args["page"], args["page_size"])
    result["items"] = road_checks.finding_items(result["items"])
    return render_template("maintenance/road_check_detail.html", item=item, result=result, outcome=args.get("outcome"),
                           query=pager_args())
