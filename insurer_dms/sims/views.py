"""SIM and data-plan pages: lists, details with history, plan and status changes, file imports (operations staff only)."""
import marshmallow as ma
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from .. import activity
from ..auth.access import OPS, require
from ..errors import DomainError
from ..labels import label
from ..web.pages import exportable, listing, pager_args, run_import
from . import plans, registry
from .models import CARRIERS, SIM_STATES
from .schemas import DataPlanListArgs, SimListArgs, SimPatchSchema
from .lists import PLANS, SIMS

bp = Blueprint("sims", __name__, template_folder="templates")


@bp.context_processor
def _choices():
    return {"carriers": CARRIERS, "sim_states": SIM_STATES}


@bp.route("/sims")
@require(OPS)
@exportable(SIMS.args(SimListArgs), SIMS)
def list_sims():
    result, args = listing(SIMS.args(SimListArgs)(), SIMS)
    return render_template("sims/sim_list.html", result=result, args=args, plans=plans.all_plans(), pager_args=pager_args())


@bp.route("/sims/<int:sim_id>")
@require(OPS)
def sim_detail(sim_id):
    sim, assignments, history = registry.sim_detail(sim_id)
    same_carrier = [p for p in plans.all_plans() if p.carrier == sim.carrier]
    return render_template("sims/sim_detail.html", sim=sim, assignments=assignments, history=history,
                           plans=same_carrier, targets=registry.targets(sim.status))


def _form_change(sim_id, raw):
    """Apply the posted values to the SIM through the same schema and rules as the API; flash why not."""
    try:
        registry.update_sim(sim_id, SimPatchSchema().load(raw, unknown=ma.EXCLUDE))
    except ma.ValidationError as err:
        flash(_("Check these fields: %(fields)s", fields=", ".join(sorted(err.messages))), "error")
        return False
    except DomainError as err:
        flash("; ".join([err.message, *[m for msgs in err.errors.values() for m in msgs if m != err.message]]), "error")
        return False
    return True


def _posted(*fields):
    return {k: request.form[k] for k in fields if request.form.get(k)}


@bp.route("/sims/<int:sim_id>/plan", methods=["POST"])
@require(OPS)
def change_plan(sim_id):
    chosen = request.form.get("plan_id", "").strip()
    # An empty choice takes the SIM off any plan; the schema is strict about integers (JSON), a form sends text.
    if _form_change(sim_id, {"plan_id": int(chosen) if chosen.isdigit() else (chosen or None), **_posted("note")}):
        flash(_("The plan is changed."), "success")
    return redirect(url_for("sims.sim_detail", sim_id=sim_id))


@bp.route("/sims/<int:sim_id>/status", methods=["POST"])
@require(OPS)
def change_status(sim_id):
    if _form_change(sim_id, _posted("status", "activated_on", "deactivated_on", "note")):
        flash(_("The SIM is now %(state)s.", state=label("sim_state", request.form.get("status"))), "success")
    return redirect(url_for("sims.sim_detail", sim_id=sim_id))


@bp.route("/sims/import", methods=["GET", "POST"])
@require(OPS)
def import_sims_page():
    result, rows, status = None, None, 200
    if request.method == "POST":
        result, rows, _message, status = run_import(registry.import_sims)
    return render_template("sims/sim_import.html", result=result, rows=rows), status


@bp.route("/data-plans")
@require(OPS)
@exportable(PLANS.args(DataPlanListArgs), PLANS)
def list_plans():
    result, args = listing(PLANS.args(DataPlanListArgs)(), PLANS)
    return render_template("sims/plan_list.html", result=result, args=args, pager_args=pager_args())


@bp.route("/data-plans/<int:plan_id>")
@require(OPS)
def plan_detail(plan_id):
    plan = plans.get_plan(plan_id)
    return render_template("sims/plan_detail.html", plan=plan, sim_count=plans.sim_count(plan.id),
                           history=activity.history(plans.ENTITY, plan.id))


@bp.route("/data-plans/import", methods=["GET", "POST"])
@require(OPS)
def import_plans_page():
    result, rows, status = None, None, 200
    if request.method == "POST":
        result, rows, _message, status = run_import(plans.import_plans)
    return render_template("sims/plan_import.html", result=result, rows=rows), status


from . import reconciliation_views, statement_views  # noqa: E402,F401  (more pages on this blueprint)
