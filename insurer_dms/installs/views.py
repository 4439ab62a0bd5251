"""Operations pages for installations: work orders, bulk creation, online-status imports, never-seen list, progress."""
from functools import partial

import marshmallow as ma
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import fields
from .. import activity
from ..auth.access import OPS, require
from ..downloads import csv_response, xlsx_response
from ..errors import DomainError
from ..extensions import db
from ..fleet.identifiers import CHAOZHOU_DIVISIONS
from ..paging import PageArgs
from ..types import utcnow
from ..web.pages import exportable, listing, pager_args, run_import
from . import access, evidence, progress as progress_report
from .models import ORDER_KINDS, ORDER_STATES, Installation
from .lists import ONLINE_STATUS_IMPORTS, WORK_ORDERS

bp = Blueprint("installs", __name__, template_folder="templates")
bp.add_app_template_filter(evidence.review_note_text, "review_note")  # the checks' lines in the user's language


@bp.context_processor
def _order_labels():
    from ..labels import order_kind_labels, order_state_labels, photo_kind_labels

    return {"order_states": order_state_labels(), "order_kinds": order_kind_labels(), "photo_kinds": photo_kind_labels()}


class OpsOrderArgs(PageArgs):
    state = fields.String(validate=ma.validate.OneOf(ORDER_STATES))
    kind = fields.String(validate=ma.validate.OneOf(ORDER_KINDS))
    county_code = fields.String(validate=ma.validate.OneOf(list(CHAOZHOU_DIVISIONS)))
    company_id = fields.Id()
    q = fields.String()


class CountyPageArgs(PageArgs):
    county_code = fields.String(validate=ma.validate.OneOf(list(CHAOZHOU_DIVISIONS)))


def refusal_labels():
    return {
        "not_heavy": _("Not a heavy truck"),
        "no_policy_in_force": _("No policy in force"),
        "device_installed": _("Device already installed"),
        "order_open": _("Order already open"),
    }


def unmatched_labels():
    return {
        "no_number_or_plate": _("Neither a terminal phone number nor a plate"),
        "unknown_number": _("Unknown terminal phone number"),
        "unknown_plate": _("Unknown plate"),
        "not_installed": _("No device installed with it now"),
        "unparsable_time": _("Last-online time missing or unreadable"),
        "seen_before_install": _("Last online before the installation"),
    }


@bp.context_processor
def _ops_choices():
    return {"counties": CHAOZHOU_DIVISIONS, "all_states": ORDER_STATES, "all_kinds": ORDER_KINDS}


def _companies():
    from .service import companies_query

    return db.session.scalars(companies_query()).all()


# ---------------------------------------------------------------- work orders


@bp.route("/work-orders")
@require(OPS)
@exportable(WORK_ORDERS.args(OpsOrderArgs), WORK_ORDERS)
def list_work_orders():
    result, args = listing(WORK_ORDERS.args(OpsOrderArgs)(), WORK_ORDERS)
    return render_template("installs/ops_work_orders.html", result=result, args=args, companies=_companies(), query=pager_args())


def _detail(order_id, status=200):
    from .service import get_order_for, legal_targets

    order = get_order_for(current_user, order_id)
    installation = db.session.scalar(
        db.select(Installation).where(Installation.work_order_id == order.id).order_by(Installation.id.desc()).limit(1)
    )
    sheet = access.config_sheet(installation) if installation is not None and installation.removed_at is None else None
    return render_template(
        "installs/ops_work_order.html",
        order=order,
        installation=installation,
        sheet=sheet,
        targets=legal_targets(order.state),
        companies=_companies(),
        history=activity.history("work_order", order.id),
    ), status


@bp.route("/work-orders/<int:order_id>")
@require(OPS)
def work_order_detail(order_id):
    return _detail(order_id)


def _act(order_id, action, done):
    """Run a state change from the detail page; a refusal is shown on the page with its status."""
    try:
        action()
    except DomainError as err:
        db.session.rollback()
        flash("; ".join([err.message, *[m for msgs in err.errors.values() for m in msgs if m != err.message]]), "error")
        return _detail(order_id, err.status)
    flash(done, "success")
    return redirect(url_for("installs.work_order_detail", order_id=order_id))


@bp.route("/work-orders/<int:order_id>/assign", methods=["POST"])
@require(OPS)
def assign_order(order_id):
    from .service import assign

    try:
        company_id = int(request.form.get("company_id", ""))
    except ValueError:
        company_id = 0
    return _act(order_id, lambda: assign(order_id, company_id), _("Order assigned."))


@bp.route("/work-orders/<int:order_id>/cancel", methods=["POST"])
@require(OPS)
def cancel_order(order_id):
    from .service import cancel

    return _act(order_id, lambda: cancel(order_id, request.form.get("reason", "")), _("Order cancelled."))


@bp.route("/work-orders/<int:order_id>/rework", methods=["POST"])
@require(OPS)
def rework_order(order_id):
    from .service import send_to_rework

    return _act(order_id, lambda: send_to_rework(order_id, request.form.get("note", "")), _("Order sent back for rework."))


@bp.route("/work-orders/<int:order_id>/confirm-connection", methods=["POST"])
@require(OPS)
def confirm_connection(order_id):
    reason = request.form.get("reason", "")
    return _act(order_id, lambda: access.mark_connected(order_id, utcnow(), "manual", reason), _("Connection confirmed."))


@bp.route("/work-orders/bulk", methods=["GET", "POST"])
@require(OPS)
def bulk_create_page():
    from .service import bulk_create

    result, county_code, status = None, request.form.get("county_code", ""), 200
    if request.method == "POST":
        if county_code not in CHAOZHOU_DIVISIONS:
            flash(_("Choose a county."), "error")
            status = 422
        else:
            try:
                result = bulk_create(county_code)
            except DomainError as err:
                flash(err.message, "error")
                status = err.status
    return render_template("installs/ops_bulk_create.html", result=result, county_code=county_code,
                           refusals=refusal_labels()), status


# ---------------------------------------------------------------- online status


@bp.route("/online-status", methods=["GET", "POST"])
@require(OPS)
@exportable(ONLINE_STATUS_IMPORTS.args(PageArgs), ONLINE_STATUS_IMPORTS)
def online_status_page():
    rows, status = None, 200
    if request.method == "POST":
        item, rows, _message, status = run_import(partial(access.start_online_status_import, user_id=current_user.id))
        if item is not None:
            if getattr(item, "repeated", False):
                flash(_("This file was imported before; here is that import."), "success")
            return redirect(url_for("installs.online_status_detail", import_id=item.id))
    result, _filters = listing(ONLINE_STATUS_IMPORTS.args(PageArgs)(), ONLINE_STATUS_IMPORTS)
    return render_template("installs/ops_online_status.html", result=result, rows=rows, query=pager_args()), status


@bp.route("/online-status/<int:import_id>")
@require(OPS)
def online_status_detail(import_id):
    item = access.get_import(import_id)
    return render_template("installs/ops_online_status_detail.html", item=item, reasons=unmatched_labels())


# ---------------------------------------------------------------- never seen and progress


@bp.route("/installations/never-seen")
@require(OPS)
def never_seen_page():
    result, args = listing(CountyPageArgs(), access.never_seen_query)
    result["items"] = access.never_seen_items(result["items"])
    return render_template("installs/ops_never_seen.html", result=result, args=args, query=pager_args())


def chart(report, bar=22, gap=34):
    """Bar geometry for the progress chart: per county the insured trucks, installed and connected, as % of the width.

    Bars share one scale (the county with the most insured trucks fills the width); lengths are percentages so
    the chart fits any screen while its text keeps its size. A county with nothing to show gets no row.
    """
    rows = [r for r in report["counties"] if r["insured"] or r["installed"]]
    biggest = max([r["insured"] for r in rows] + [1])
    groups = []
    for index, row in enumerate(rows):
        top = index * (bar + gap)
        groups.append({
            "row": row,
            "label_y": top + 14,
            "bar_y": top + 20,
            **{f"{k}_w": round(row[k] * 100 / biggest, 2) for k in ("insured", "installed", "connected")},
        })
    return {"height": len(rows) * (bar + gap), "bar": bar, "groups": groups}


@bp.route("/progress")
@require(OPS)
def progress_page():
    report = progress_report.progress()
    return render_template("installs/progress.html", report=report, chart=chart(report))


@bp.route("/progress.csv", defaults={"fmt": "csv"})
@bp.route("/progress.xlsx", defaults={"fmt": "xlsx"})
@require(OPS)
def progress_file(fmt):
    """The progress report as a file: Chinese headers, ``?lang=en`` English."""
    data, name = progress_report.progress_file(fmt, request.args.get("lang"))
    return (csv_response if fmt == "csv" else xlsx_response)(data, name)


from . import contractor_views  # noqa: E402,F401  (contractor pages share this blueprint)
