"""Pages for purchase orders, receiving by file and devices (operations staff only)."""
import marshmallow as ma
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..auth.access import OPS, require
from ..errors import Conflict, Invalid, flatten_errors
from ..labels import device_state_labels as state_labels
from ..web.pages import exportable, listing, pager_args, run_import
from . import service
from .lists import DEVICES, PURCHASE_ORDERS
from .models import DEVICE_STATES
from .schemas import DeviceArgs, PurchaseOrderArgs, PurchaseOrderInSchema

bp = Blueprint("inventory", __name__, template_folder="templates")

LINE_ROWS = 5  # fixed line rows on the new-order form


@bp.route("/purchase-orders")
@require(OPS)
@exportable(PURCHASE_ORDERS.args(PurchaseOrderArgs), PURCHASE_ORDERS)
def list_purchase_orders():
    result, _filters = listing(PURCHASE_ORDERS.args(PurchaseOrderArgs)(), PURCHASE_ORDERS)
    return render_template("inventory/purchase_orders.html", result=result, args=request.args, pager_args=pager_args())


@bp.route("/purchase-orders/new", methods=["GET", "POST"])
@require(OPS)
def new_purchase_order():
    form = request.form if request.method == "POST" else {}
    errors = {}
    status = 200
    if request.method == "POST":
        used_rows = [i for i in range(LINE_ROWS) if form.get(f"line-{i}-entry") or form.get(f"line-{i}-quantity") or form.get(f"line-{i}-price")]
        data = {
            "number": form.get("number", ""),
            "supplier": form.get("supplier", ""),
            "order_date": form.get("order_date", ""),
            "note": form.get("note") or None,
            "lines": [
                {
                    "catalogue_entry_id": form.get(f"line-{i}-entry") or None,
                    "quantity": form.get(f"line-{i}-quantity") or None,
                    "unit_price": form.get(f"line-{i}-price") or None,
                }
                for i in used_rows
            ],
        }
        try:
            loaded = PurchaseOrderInSchema().load(_form_numbers(data))
            po = service.create_purchase_order(loaded)
        except ma.ValidationError as err:
            errors = flatten_errors(err.messages)
        except (Invalid, Conflict) as err:
            errors = err.errors or {"_schema": [err.message]}
        else:
            flash(_("Purchase order %(number)s created.", number=po.number), "success")
            return redirect(url_for("inventory.purchase_order_detail", po_id=po.id))
        errors = _form_keys(errors, used_rows)
        status = 422
    return (
        render_template("inventory/purchase_order_new.html", form=form, errors=errors, rows=range(LINE_ROWS), entries=service.catalogue_choices()),
        status,
    )


def _form_numbers(data):
    """Form posts strings; turn the numeric line fields into numbers where they parse."""
    for line in data["lines"]:
        for key in ("catalogue_entry_id", "quantity"):
            value = line[key]
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                line[key] = int(value)
    return data


def _form_keys(errors, used_rows):
    """Map ``lines.<k>.field`` (k-th filled row) back to the form row it came from."""
    mapped = {}
    for key, messages in errors.items():
        parts = key.split(".")
        if parts[0] == "lines" and len(parts) > 1 and parts[1].isdigit() and int(parts[1]) < len(used_rows):
            parts[1] = str(used_rows[int(parts[1])])
        mapped[".".join(parts)] = messages
    return mapped


@bp.route("/purchase-orders/<int:po_id>", methods=["GET", "POST"])
@require(OPS)
def purchase_order_detail(po_id):
    """The order, its lines and receiving; a POST receives devices from an uploaded file."""
    po = service.get_purchase_order(po_id)
    result, import_errors, status = None, None, 200
    if request.method == "POST":
        result, import_errors, _message, status = run_import(lambda data, filename: service.receive_from_file(po, data, filename))
        po = service.get_purchase_order(po_id)  # received counts after the import
    return render_template("inventory/purchase_order_detail.html", po=po, result=result, import_errors=import_errors), status


@bp.route("/devices")
@require(OPS)
@exportable(DEVICES.args(DeviceArgs), DEVICES)
def list_devices():
    result, _filters = listing(DEVICES.args(DeviceArgs)(), DEVICES)
    return render_template(
        "inventory/devices.html", result=result, args=request.args, pager_args=pager_args(), states=DEVICE_STATES, labels=state_labels()
    )


@bp.route("/devices/<int:device_id>")
@require(OPS)
def device_detail(device_id):
    device = service.get_device(device_id)
    return render_template("inventory/device_detail.html", device=device, targets=service.manual_targets(device.status), labels=state_labels())


@bp.route("/devices/<int:device_id>/transition", methods=["POST"])
@require(OPS)
def transition_device(device_id):
    to = request.form.get("to", "")
    try:
        device = service.transition_device(device_id, to, request.form.get("note") or None)
    except (Invalid, Conflict) as err:
        flash(err.message, "error")
    else:
        flash(_("Device %(serial)s is now %(state)s.", serial=device.serial, state=state_labels()[device.status]), "success")
    return redirect(url_for("inventory.device_detail", device_id=device_id))
