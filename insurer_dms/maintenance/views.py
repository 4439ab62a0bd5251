"""Ticket pages: the operations list, new-ticket form and detail with every action; the contractor's phone pages.

The actions a contractor may take (start, resolve, note, cost) are the same routes for both roles; the detail page
shown afterwards is the one of the user's role.
"""
import marshmallow as ma
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import fields, notes
from ..auth.access import CONTRACTOR, OPS, require
from ..auth.models import Role
from ..errors import DomainError
from ..extensions import db
from ..paging import PageArgs
from ..web.pages import exportable, listing, pager_args
from . import photos, road_checks, service, signals
from .models import CATEGORIES, COST_CATEGORIES, PRIORITIES, SLA_STATES, SOURCES, STATES
from .lists import TICKETS

bp = Blueprint("maintenance", __name__, template_folder="templates")
# The sentences signals and road checks write on tickets (stored in English), in the user's language.
bp.add_app_template_filter(lambda text: notes.shown(road_checks.shown(signals.shown(text))), "ticket_text")


class TicketPageArgs(PageArgs):
    state = fields.String(validate=ma.validate.OneOf((*STATES, "active")))
    category = fields.String(validate=ma.validate.OneOf(CATEGORIES))
    priority = fields.String(validate=ma.validate.OneOf(PRIORITIES))
    sla_state = fields.String(validate=ma.validate.OneOf(SLA_STATES))
    company_id = fields.Id()
    plate = fields.String()
    q = fields.String()


class MyTicketArgs(PageArgs):
    state = fields.String(validate=ma.validate.OneOf((*STATES, "active")))
    q = fields.String()


def duration(seconds):
    """``seconds`` as days and hours, hours and minutes, or minutes."""
    minutes = int(seconds or 0) // 60
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return _("%(days)s d %(hours)s h", days=days, hours=hours)
    if hours:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes)
    return _("%(minutes)s min", minutes=minutes)


@bp.context_processor
def _choices():
    return {"ticket_states": STATES, "ticket_categories": CATEGORIES, "ticket_priorities": PRIORITIES,
            "ticket_sla_states": SLA_STATES, "ticket_sources": SOURCES, "cost_categories": COST_CATEGORIES,
            "manual_resolutions": service.MANUAL_RESOLUTIONS, "duration": duration}


def _is_contractor():
    return current_user.role == Role.CONTRACTOR


# ---------------------------------------------------------------- operations


@bp.route("/tickets")
@require(OPS)
@exportable(TICKETS.args(TicketPageArgs), TICKETS)
def list_tickets():
    result, args = listing(TICKETS.args(TicketPageArgs)(), TICKETS)
    return render_template("maintenance/tickets.html", result=result, args=args, companies=service.companies(),
                           query=pager_args())


@bp.route("/tickets/new", methods=["GET", "POST"])
@require(OPS)
def new_ticket():
    form, errors, status = request.form.to_dict(), {}, 200
    form.pop("csrf_token", None)
    if request.method == "POST":
        data = {**form, "company_id": _int(form.get("company_id")), "truck_id": None}
        try:
            ticket, opened = service.create_ticket(current_user, data)
        except DomainError as err:
            db.session.rollback()
            flash(err.message, "error")
            errors, status = err.errors, err.status
        else:
            flash(_("Ticket opened.") if opened else _("This truck already had an active ticket of this category; the report was added to it."), "success")
            return redirect(url_for("maintenance.ticket_detail", ticket_id=ticket.id))
    return render_template("maintenance/ticket_new.html", form=form, errors=errors, companies=service.companies()), status


def _int(value):
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return -1  # no such company: the service says so next to the field


def _detail(ticket_id, errors=None, form=None, status=200):
    """The ticket page of the user's role, with a refused form's errors next to its fields."""
    ticket = service.get_ticket_for(current_user, ticket_id)
    template = "maintenance/my_ticket.html" if _is_contractor() else "maintenance/ticket.html"
    return render_template(template, ticket=ticket, times=service.time_in_state(ticket), companies=service.companies(),
                           actions=service.available_actions(current_user, ticket),
                           errors=errors or {}, form=form or {},
                           can_photograph=ticket.state in photos.PHOTO_STATES,
                           max_bytes=current_app.config["PHOTO_MAX_BYTES"]), status


@bp.route("/tickets/<int:ticket_id>")
@require(OPS)
def ticket_detail(ticket_id):
    return _detail(ticket_id)


def _act(ticket_id, action, done):
    """Run one action from a ticket page; a refusal is shown on the page with its status and field errors."""
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    try:
        action(form)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "error")
        return _detail(ticket_id, err.errors, form, err.status)
    flash(done, "success")
    endpoint = "maintenance.my_ticket" if _is_contractor() else "maintenance.ticket_detail"
    return redirect(url_for(endpoint, ticket_id=ticket_id))


@bp.route("/tickets/<int:ticket_id>/assign", methods=["POST"])
@require(OPS)
def assign_ticket(ticket_id):
    return _act(ticket_id, lambda f: service.assign(ticket_id, _int(f.get("company_id")) or -1), _("Ticket assigned."))


@bp.route("/tickets/<int:ticket_id>/unassign", methods=["POST"])
@require(OPS)
def unassign_ticket(ticket_id):
    return _act(ticket_id, lambda f: service.unassign(ticket_id, f.get("reason")), _("Ticket taken back; it is open again."))


@bp.route("/tickets/<int:ticket_id>/close", methods=["POST"])
@require(OPS)
def close_ticket(ticket_id):
    return _act(ticket_id, lambda f: service.close(ticket_id, f.get("note")), _("Ticket closed."))


@bp.route("/tickets/<int:ticket_id>/reopen", methods=["POST"])
@require(OPS)
def reopen_ticket(ticket_id):
    return _act(ticket_id, lambda f: service.reopen(ticket_id, f.get("reason")), _("Ticket reopened."))


@bp.route("/tickets/<int:ticket_id>/cancel", methods=["POST"])
@require(OPS)
def cancel_ticket(ticket_id):
    return _act(ticket_id, lambda f: service.cancel(ticket_id, f.get("reason")), _("Ticket cancelled."))


# ---------------------------------------------------------------- both roles


@bp.route("/tickets/<int:ticket_id>/start", methods=["POST"])
@require(OPS, CONTRACTOR)
def start_ticket(ticket_id):
    return _act(ticket_id, lambda f: service.start(current_user, ticket_id), _("Work started."))


@bp.route("/tickets/<int:ticket_id>/resolve", methods=["POST"])
@require(OPS, CONTRACTOR)
def resolve_ticket(ticket_id):
    def resolve(form):
        data = {k: (form.get(k) or "").strip() or None for k in ("resolution", "note", "device_serial", "iccid", "msisdn", "carrier")}
        service.resolve(current_user, ticket_id, data)

    return _act(ticket_id, resolve, _("Ticket resolved."))


@bp.route("/tickets/<int:ticket_id>/notes", methods=["POST"])
@require(OPS, CONTRACTOR)
def add_ticket_note(ticket_id):
    return _act(ticket_id, lambda f: service.add_note(current_user, ticket_id, f.get("note")), _("Note added."))


@bp.route("/tickets/<int:ticket_id>/costs", methods=["POST"])
@require(OPS, CONTRACTOR)
def add_ticket_cost(ticket_id):
    def add(form):
        service.add_cost(ticket_id, form.get("category"), (form.get("amount") or "").strip(), form.get("description"),
                         user=current_user)

    return _act(ticket_id, add, _("Cost recorded."))


# ---------------------------------------------------------------- contractors (phone width)


@bp.route("/my/tickets")
@require(CONTRACTOR)
@exportable(TICKETS.args(MyTicketArgs), TICKETS)
def my_tickets():
    result, args = listing(TICKETS.args(MyTicketArgs)(), TICKETS)
    return render_template("maintenance/my_tickets.html", result=result, args=args, query=pager_args())


@bp.route("/my/tickets/<int:ticket_id>")
@require(CONTRACTOR)
def my_ticket(ticket_id):
    return _detail(ticket_id)
