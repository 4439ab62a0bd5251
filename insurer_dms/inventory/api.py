"""REST API for purchase orders, receipts and devices (operations staff only)."""
from flask.views import MethodView
from flask_smorest import Blueprint

from ..auth.access import OPS, require
from ..imports import read_upload
from ..list_exports import page_or_xlsx, xlsx_doc
from ..paging import page_schema
from . import service
from .lists import DEVICES, PURCHASE_ORDERS
from .schemas import (
    DeviceArgs,
    DeviceDetailSchema,
    DeviceSchema,
    PurchaseOrderArgs,
    PurchaseOrderDetailSchema,
    PurchaseOrderInSchema,
    PurchaseOrderSchema,
    ReceiptFileSchema,
    ReceiptResultSchema,
    ReceiptSchema,
    TransitionSchema,
)

blp = Blueprint("inventory_api", __name__, url_prefix="/api", description="Purchase orders, receiving and devices")


@blp.route("/purchase-orders")
class PurchaseOrders(MethodView):
    @require(OPS)
    @blp.arguments(PURCHASE_ORDERS.args(PurchaseOrderArgs), location="query")
    @blp.response(200, page_schema(PurchaseOrderSchema, "PurchaseOrderPage"))
    @xlsx_doc(blp)
    def get(self, args):
        """List purchase orders (search by number or supplier, filter by order date); sortable, or as XLSX."""
        return page_or_xlsx(PURCHASE_ORDERS, args)

    @require(OPS)
    @blp.arguments(PurchaseOrderInSchema)
    @blp.response(201, PurchaseOrderDetailSchema)
    def post(self, data):
        """Create a purchase order; lines must be orderable on the order date and at most the bid price."""
        return service.create_purchase_order(data)


@blp.route("/purchase-orders/<int:po_id>")
class PurchaseOrderItem(MethodView):
    @require(OPS)
    @blp.response(200, PurchaseOrderDetailSchema)
    def get(self, po_id):
        """One purchase order with its lines and how many devices each has received."""
        return service.get_purchase_order(po_id)


@blp.route("/purchase-orders/<int:po_id>/receipts")
class Receipts(MethodView):
    @require(OPS)
    @blp.arguments(ReceiptSchema)
    @blp.response(201, ReceiptResultSchema)
    def post(self, data, po_id):
        """Receive devices against one line; never more than ordered; all or nothing."""
        po = service.get_purchase_order(po_id)
        return service.receive_devices(po, data["line_id"], data["devices"], data.get("received_on"))


@blp.route("/purchase-orders/<int:po_id>/receipts/import")
class ReceiptImport(MethodView):
    @require(OPS)
    @blp.arguments(ReceiptFileSchema, location="files")
    @blp.response(201, ReceiptResultSchema)
    def post(self, files, po_id):
        """Receive devices from a CSV/XLSX file (line_no, serial, terminal_id, imei); all or nothing."""
        po = service.get_purchase_order(po_id)
        data, filename = read_upload(files["file"])
        return service.receive_from_file(po, data, filename)


@blp.route("/devices")
class Devices(MethodView):
    @require(OPS)
    @blp.arguments(DEVICES.args(DeviceArgs), location="query")
    @blp.response(200, page_schema(DeviceSchema, "DevicePage"))
    @xlsx_doc(blp)
    def get(self, args):
        """List devices (filter by state, catalogue entry, purchase order; search serial/terminal ID/IMEI); sortable,
        or as XLSX."""
        return page_or_xlsx(DEVICES, args)


@blp.route("/devices/<int:device_id>")
class DeviceItem(MethodView):
    @require(OPS)
    @blp.response(200, DeviceDetailSchema)
    def get(self, device_id):
        """One device with its full history."""
        return service.get_device(device_id)


@blp.route("/devices/<int:device_id>/transition")
class DeviceTransition(MethodView):
    @require(OPS)
    @blp.arguments(TransitionSchema)
    @blp.response(200, DeviceDetailSchema)
    def post(self, data, device_id):
        """Move a device to another state by hand (installation moves only through work orders)."""
        return service.transition_device(device_id, data["to"], data.get("note"))
