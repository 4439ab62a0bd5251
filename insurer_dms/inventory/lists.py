"""The device and purchase-order lists: their sortable columns and their "Export Excel" (one definition each, for
the page and the API)."""
from flask_babel import lazy_gettext as _l

from ..labels import device_state_labels
from ..paging import Column, ListSpec
from . import service
from .models import Device, PurchaseOrder

DEVICES = ListSpec(
    "devices", service.devices_query, Device.id,
    {"serial": Device.serial, "terminal_id": Device.terminal_id, "imei": Device.imei, "status": Device.status,
     "received_on": Device.received_on},
    [
        Column(_l("Serial"), lambda d: d.serial),
        Column(_l("Terminal ID"), lambda d: d.terminal_id),
        Column("IMEI", lambda d: d.imei),
        Column(_l("Model"), lambda d: d.catalogue_entry.label),
        Column(_l("State"), lambda d: d.status, labels=device_state_labels),
        Column(_l("Purchase order"), lambda d: d.po_line.purchase_order.number),
        Column(_l("Line"), lambda d: d.po_line.line_no),
        Column(_l("Received on"), lambda d: d.received_on),
    ],
    _l("Devices"),
)

PURCHASE_ORDERS = ListSpec(
    "purchase-orders", service.purchase_orders_query, PurchaseOrder.id,
    {"number": PurchaseOrder.number, "supplier": PurchaseOrder.supplier, "order_date": PurchaseOrder.order_date},
    [
        Column(_l("Number"), lambda po: po.number),
        Column(_l("Supplier"), lambda po: po.supplier),
        Column(_l("Order date"), lambda po: po.order_date),
        Column(_l("Ordered"), lambda po: sum(line.quantity for line in po.lines)),
        Column(_l("Received"), lambda po: sum(line.received for line in po.lines)),
    ],
    _l("Purchase orders"),
)
