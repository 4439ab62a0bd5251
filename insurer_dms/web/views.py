"""The operations home (figures and charts for insurer staff only), the landing redirect and the health check."""
from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.access import ANY_ROLE, OPS, REVIEWER, public, require
from .. import notes
from ..labels import label
from . import charts, service

bp = Blueprint("web", __name__)
bp.add_app_template_filter(notes.shown, "note")  # a note the system wrote, in the user's language


@bp.route("/")
@public
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for("web.home"))


@bp.route("/home")
@require(*ANY_ROLE)
def home():
    if current_user.role.value == REVIEWER:
        return redirect(url_for("audits_reviewer.portal"))  # the regulator's reviewers land on their portal
    if current_user.role.value != OPS:
        return render_template("home.html", figures=None)  # no figures (and no money) for contractors
    figures = service.home_figures()
    return render_template("home.html", figures=figures, charts=home_charts(figures), link=link)


def link(endpoint, **args):
    """The URL of a page, or None while that page does not exist (a figure is then shown without a link)."""
    return url_for(endpoint, **args) if endpoint in current_app.view_functions else None


def home_charts(figures):
    """The home's two charts: progress by county, and this month's costs against last month's by category."""
    counties = [row for row in figures["progress"]["counties"] if row["insured"] or row["installed"]]
    progress = charts.hbars(
        [(row["county"], [row["insured"], row["installed"], row["connected"]],
          link("installs.list_work_orders", county_code=row["county_code"])) for row in counties],
        [("insured", _("Insured heavy trucks"), "#9ca3af"), ("installed", _("Installed"), "#0b6bcb"),
         ("connected", _("Connected"), "#067647")],
    )
    costs = figures["costs"]
    spent = [r for r in costs["by_category"] if r["this"] or r["last"]]
    money = charts.hbars(
        [(label("ledger_category", r["category"]), [r["last"], r["this"]],
          link("ledger.costs_page", **{"from": costs["last_period"], "to": costs["this_period"]})) for r in spent],
        [("last", costs["last_period"], "#9ca3af"), ("this", costs["this_period"], "#0b6bcb")],
        fmt=charts.money,
    )
    return {"progress": progress, "costs": money}


@bp.route("/favicon.ico")
@public
def favicon():
    """The icon browsers ask for at the root, from the static files (the pages link the SVG too)."""
    return current_app.send_static_file("favicon.ico")


@bp.route("/healthz")
@public
def healthz():
    return {"status": "ok"}
