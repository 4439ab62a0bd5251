"""Contractor pages (phone width): my orders, order detail with scheduling, close form with photo upload."""
import datetime as dt

import marshmallow as ma
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import fields
from ..auth.access import CONTRACTOR, require
from ..errors import DomainError
from ..paging import PageArgs
from ..web.pages import exportable, listing, pager_args
from . import evidence, service
from .models import ORDER_STATES, PHOTO_KINDS
from .views import bp
from .lists import WORK_ORDERS


class MyOrderArgs(PageArgs):
    state = fields.String(validate=ma.validate.OneOf(ORDER_STATES))
    date_from = fields.Date()
    date_to = fields.Date()
    q = fields.String()


def _local_datetime(value, field, errors):
    """A ``datetime-local`` form value (Asia/Shanghai wall time) as an aware datetime, or None with an error."""
    value = (value or "").strip()
    if not value:
        errors[field] = [_("Required.")]
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        errors[field] = [_("Not a valid date and time.")]
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=evidence.LOCAL_TZ)


def _detail(order_id, errors=None, form=None, status=200):
    order = service.get_order_for(current_user, order_id)
    return render_template(
        "installs/contractor_order.html",
        order=order,
        photos={p.kind: p for p in order.photos},
        kinds=PHOTO_KINDS,
        can_photograph=order.state in evidence.PHOTO_STATES,
        can_schedule="scheduled" in service.legal_targets(order.state) and order.state != "open",
        # Removal orders are closed by operations staff (close_removal), not on this page.
        can_close="installed" in service.legal_targets(order.state) and order.kind in ("install", "swap"),
        errors=errors or {},
        form=form or {},
        max_bytes=current_app.config["PHOTO_MAX_BYTES"],
    ), status


def _failed(order_id, err, form):
    """Show a refused form again with the service's field errors next to the fields."""
    flash(err.message, "error")
    return _detail(order_id, err.errors or {}, form, err.status)


@bp.route("/my/orders")
@require(CONTRACTOR)
@exportable(WORK_ORDERS.args(MyOrderArgs), WORK_ORDERS)
def my_orders():
    result, args = listing(WORK_ORDERS.args(MyOrderArgs)(), WORK_ORDERS)
    return render_template("installs/contractor_orders.html", result=result, args=args, pager_args=pager_args(), states=ORDER_STATES)


@bp.route("/my/orders/<int:order_id>")
@require(CONTRACTOR)
def my_order(order_id):
    return _detail(order_id)


@bp.route("/my/orders/<int:order_id>/schedule", methods=["POST"])
@require(CONTRACTOR)
def schedule_my_order(order_id):
    form = request.form.to_dict()
    errors = {}
    appointment_at = _local_datetime(form.get("appointment_at"), "appointment_at", errors)
    if errors:
        flash(_("Please correct the appointment."), "error")
        return _detail(order_id, errors, form, 422)
    try:
        service.schedule(current_user, order_id, appointment_at, (form.get("address") or "").strip() or None)
    except DomainError as err:
        return _failed(order_id, err, form)
    flash(_("Appointment saved."), "success")
    return redirect(url_for("installs.my_order", order_id=order_id))


@bp.route("/my/orders/<int:order_id>/close", methods=["POST"])
@require(CONTRACTOR)
def close_my_order(order_id):
    form = {k: v.strip() for k, v in request.form.items() if k != "csrf_token"}
    errors = {}
    for field in ("device_serial", "iccid", "msisdn"):
        if not form.get(field):
            errors[field] = [_("Required.")]
    installed_at = _local_datetime(form.get("installed_at"), "installed_at", errors)
    if errors:
        flash(_("Please correct the highlighted fields."), "error")
        return _detail(order_id, errors, form, 422)
    data = {"device_serial": form["device_serial"], "iccid": form["iccid"], "msisdn": form["msisdn"], "installed_at": installed_at}
    if form.get("carrier"):
        data["carrier"] = form["carrier"]
    try:
        service.close_order(current_user, order_id, data)
    except DomainError as err:
        return _failed(order_id, err, form)
    flash(_("Order closed: the device is installed."), "success")
    return redirect(url_for("installs.my_order", order_id=order_id))
