"""The maintenance-ticket list (operations' and a contractor's own): its sortable columns and its "Export Excel"
(one definition, for the pages and the API). The query is the user's: a contractor's export holds its company's.
And operations' list of road-check imports."""
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..fleet.models import Truck
from ..labels import sla_state_labels, ticket_category_labels, ticket_priority_labels, ticket_state_labels
from ..paging import Column, ListSpec
from . import road_checks, service
from .models import RoadCheckImport, Ticket

TICKETS = ListSpec(
    "tickets", lambda **filters: service.tickets_query(current_user, **filters), Ticket.id,
    {"number": Ticket.number, "plate": Truck.plate, "category": Ticket.category, "priority": Ticket.priority,
     "state": Ticket.state, "sla_due_at": Ticket.sla_due_at, "opened_at": Ticket.opened_at},
    [
        Column(_l("Number"), lambda t: t.number),
        Column(_l("Plate"), lambda t: t.truck.plate),
        Column(_l("Category"), lambda t: t.category, labels=ticket_category_labels),
        Column(_l("Priority"), lambda t: t.priority, labels=ticket_priority_labels),
        Column(_l("State"), lambda t: t.state, labels=ticket_state_labels),
        Column(_l("SLA due"), lambda t: t.sla_due_at),
        Column(_l("SLA"), lambda t: t.sla_state, labels=sla_state_labels),
        Column(_l("Company"), lambda t: t.company.name if t.company else None),
        Column(_l("Opened"), lambda t: t.opened_at),
    ],
    _l("Maintenance tickets"),
)


ROAD_CHECK_IMPORTS = ListSpec(
    "road-checks", road_checks.imports_query, RoadCheckImport.id,
    {"filename": RoadCheckImport.filename, "created_at": RoadCheckImport.created_at, "rows": RoadCheckImport.rows,
     "tickets": RoadCheckImport.tickets, "work_orders": RoadCheckImport.work_orders, "recorded": RoadCheckImport.recorded,
     "unknown_plates": RoadCheckImport.unknown_plates},
    [
        Column(_l("File"), lambda i: i.filename),
        Column(_l("Uploaded"), lambda i: i.created_at),
        Column(_l("Rows"), lambda i: i.rows),
        Column(_l("Tickets"), lambda i: i.tickets),
        Column(_l("Work orders"), lambda i: i.work_orders),
        Column(_l("Recorded"), lambda i: i.recorded),
        Column(_l("Unknown plates"), lambda i: i.unknown_plates),
    ],
    _l("Road-check findings"),
)
