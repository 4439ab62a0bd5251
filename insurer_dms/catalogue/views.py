"""Catalogue pages: list, detail with withdrawal and history, file import (operations staff only)."""
import marshmallow as ma
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import activity
from ..auth.access import OPS, require
from ..errors import DomainError
from ..web.pages import exportable, listing, run_import
from . import service
from .lists import ENTRIES
from .schemas import CatalogueListArgs, CatalogueWithdrawSchema

bp = Blueprint("catalogue", __name__, template_folder="templates")


@bp.route("/catalogue")
@require(OPS)
@exportable(ENTRIES.args(CatalogueListArgs), ENTRIES)
def list_entries():
    result, args = listing(ENTRIES.args(CatalogueListArgs)(), ENTRIES)
    return render_template("catalogue/list.html", result=result, args=args, manufacturers=service.manufacturers())


@bp.route("/catalogue/<int:entry_id>")
@require(OPS)
def entry_detail(entry_id):
    entry = service.get_entry(entry_id)
    return render_template(
        "catalogue/detail.html",
        entry=entry,
        history=activity.history(service.ENTITY, entry.id),
        references=service.reference_count(entry.id),
    )


@bp.route("/catalogue/<int:entry_id>/withdraw", methods=["POST"])
@require(OPS)
def withdraw(entry_id):
    try:
        data = CatalogueWithdrawSchema().load({"withdrawn_on": request.form.get("withdrawn_on") or None}, unknown=ma.EXCLUDE)
        service.withdraw_entry(entry_id, data["withdrawn_on"])
    except ma.ValidationError:
        flash(_("Enter the withdrawal date."), "error")
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash(_("The entry is withdrawn."), "success")
    return redirect(url_for("catalogue.entry_detail", entry_id=entry_id))


@bp.route("/catalogue/import", methods=["GET", "POST"])
@require(OPS)
def import_page():
    result, rows, status = None, None, 200
    if request.method == "POST":
        result, rows, _message, status = run_import(service.import_entries)
    return render_template("catalogue/import.html", result=result, rows=rows), status
