"""The truck, policy and operator lists: their sortable columns and their "Export Excel" (one definition each, for
the page and the API)."""
from flask_babel import lazy_gettext as _l

from ..labels import county_labels, policy_kind_labels, vehicle_type_labels, yes_no_labels
from ..paging import Column, ListSpec
from . import service
from .models import Operator, Policy, Truck

TRUCKS = ListSpec(
    "trucks", service.truck_query, Truck.id,
    {"plate": Truck.plate, "vin": Truck.vin, "vehicle_type": Truck.vehicle_type, "total_mass_kg": Truck.total_mass_kg,
     "county_code": Truck.county_code},
    [
        Column(_l("Plate"), lambda t: t.plate),
        Column("VIN", lambda t: t.vin),
        Column(_l("Vehicle type"), lambda t: t.vehicle_type, labels=vehicle_type_labels),
        Column(_l("Total mass (kg)"), lambda t: t.total_mass_kg),
        Column(_l("Heavy"), lambda t: bool(t.is_heavy), labels=yes_no_labels),
        Column(_l("County"), lambda t: t.county_code, labels=county_labels),
        Column(_l("Operator"), lambda t: t.operator.name),
    ],
    _l("Trucks"),
)

POLICIES = ListSpec(
    "policies", service.policy_query, Policy.id,
    {"number": Policy.number, "plate": Truck.plate, "kind": Policy.kind, "start_date": Policy.start_date,
     "end_date": Policy.end_date, "premium": Policy.premium},
    [
        Column(_l("Number"), lambda p: p.number),
        Column(_l("Plate"), lambda p: p.truck.plate),
        Column(_l("Kind"), lambda p: p.kind, labels=policy_kind_labels),
        Column(_l("Start date"), lambda p: p.start_date),
        Column(_l("End date"), lambda p: p.end_date),
        Column(_l("Premium (CNY)"), lambda p: p.premium),
        Column(_l("Benchmark (CNY)"), lambda p: p.benchmark_premium),
    ],
    _l("Policies"),
)

OPERATORS = ListSpec(
    "operators", service.operator_query, Operator.id,
    {"name": Operator.name, "credit_code": Operator.credit_code, "county_code": Operator.county_code},
    [
        Column(_l("Name"), lambda o: o.name),
        Column(_l("Unified social credit code"), lambda o: o.credit_code),
        Column(_l("County"), lambda o: o.county_code, labels=county_labels),
        Column(_l("Contact phone"), lambda o: o.contact_phone),
    ],
    _l("Operators"),
)
