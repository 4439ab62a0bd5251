"""The work-order list (operations' and a contractor's own): its sortable columns and its "Export Excel" (one
definition, for the pages and the API). The query is the user's: a contractor's export holds its company's only.
And operations' list of online-status imports."""
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..fleet.models import Truck
from ..labels import county_labels, import_status_labels, order_kind_labels, order_state_labels, yes_no_labels
from ..paging import Column, ListSpec
from . import access, service
from .models import OnlineStatusImport, WorkOrder

WORK_ORDERS = ListSpec(
    "work-orders", lambda **filters: service.orders_query(current_user, **filters), WorkOrder.id,
    {"number": WorkOrder.number, "plate": Truck.plate, "county_code": Truck.county_code, "kind": WorkOrder.kind,
     "state": WorkOrder.state, "appointment_at": WorkOrder.appointment_at, "created_at": WorkOrder.created_at},
    [
        Column(_l("Number"), lambda o: o.number),
        Column(_l("Plate"), lambda o: o.truck.plate),
        Column(_l("County"), lambda o: o.truck.county_code, labels=county_labels),
        Column(_l("Order kind"), lambda o: o.kind, labels=order_kind_labels),
        Column(_l("State"), lambda o: o.state, labels=order_state_labels),
        Column(_l("Company"), lambda o: o.company.name if o.company else None),
        Column(_l("Appointment"), lambda o: o.appointment_at),
        Column(_l("Created on"), lambda o: o.created_at),
        Column(_l("Needs review"), lambda o: bool(o.needs_review), labels=yes_no_labels),
    ],
    _l("Installation work orders"),
)

ONLINE_STATUS_IMPORTS = ListSpec(
    "online-status", access.imports_query, OnlineStatusImport.id,
    {"filename": OnlineStatusImport.filename, "created_at": OnlineStatusImport.created_at,
     "status": OnlineStatusImport.status, "rows": OnlineStatusImport.rows, "matched": OnlineStatusImport.matched,
     "connected": OnlineStatusImport.connected},
    [
        Column(_l("File"), lambda i: i.filename),
        Column(_l("Uploaded"), lambda i: i.created_at),
        Column(_l("Status"), lambda i: i.status, labels=import_status_labels),
        Column(_l("Rows"), lambda i: i.rows),
        Column(_l("Matched"), lambda i: i.matched),
        Column(_l("Connected"), lambda i: i.connected),
        Column(_l("Unmatched"), lambda i: len(i.unmatched or []) if i.status == "done" else None),
    ],
    _l("Online status"),
)
