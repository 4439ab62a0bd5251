"""The SIM, data-plan and statement lists: their sortable columns and their "Export Excel" (one definition each,
for the page and the API)."""
from flask_babel import lazy_gettext as _l

from ..labels import carrier_labels, sim_state_labels, statement_state_labels
from ..paging import Column, ListSpec
from . import plans, registry, statements
from .models import DataPlan, Sim, Statement

SIMS = ListSpec(
    "sims", registry.sims_query, Sim.id,
    {"iccid": Sim.iccid, "msisdn": Sim.msisdn, "carrier": Sim.carrier, "status": Sim.status,
     "activated_on": Sim.activated_on, "deactivated_on": Sim.deactivated_on},
    [
        Column("ICCID", lambda s: s.iccid),
        Column(_l("Terminal number"), lambda s: s.msisdn),
        Column(_l("Carrier"), lambda s: s.carrier, labels=carrier_labels),
        Column(_l("Plan"), lambda s: s.plan.code if s.plan else None),
        Column(_l("Status"), lambda s: s.status, labels=sim_state_labels),
        Column(_l("Activated on"), lambda s: s.activated_on),
        Column(_l("Deactivated on"), lambda s: s.deactivated_on),
    ],
    _l("SIM cards"),
)

PLANS = ListSpec(
    "data-plans", plans.plans_query, DataPlan.id,
    {"carrier": DataPlan.carrier, "code": DataPlan.code, "name": DataPlan.name, "monthly_fee": DataPlan.monthly_fee,
     "allowance_mb": DataPlan.allowance_mb, "valid_from": DataPlan.valid_from},
    [
        Column(_l("Carrier"), lambda p: p.carrier, labels=carrier_labels),
        Column(_l("Code"), lambda p: p.code),
        Column(_l("Name"), lambda p: p.name),
        Column(_l("Monthly fee (CNY)"), lambda p: p.monthly_fee),
        Column(_l("Allowance (MB)"), lambda p: p.allowance_mb),
        Column(_l("Overage per MB (CNY)"), lambda p: p.overage_per_mb),
        Column(_l("Valid from"), lambda p: p.valid_from),
        Column(_l("Valid to"), lambda p: p.valid_to),
    ],
    _l("Data plans"),
)

STATEMENTS = ListSpec(
    "statements", statements.statements_query, Statement.id,
    {"period": Statement.period, "carrier": Statement.carrier, "version": Statement.version, "status": Statement.status,
     "line_count": Statement.line_count, "billed_total": Statement.billed_total, "created_at": Statement.created_at},
    [
        Column(_l("Month"), lambda s: s.period),
        Column(_l("Carrier"), lambda s: s.carrier, labels=carrier_labels),
        Column(_l("Version"), lambda s: s.version),
        Column(_l("Status"), lambda s: s.status, labels=statement_state_labels),
        Column(_l("Lines"), lambda s: s.line_count),
        Column(_l("Billed (CNY)"), lambda s: s.billed_total),
        Column(_l("File"), lambda s: s.filename),
        Column(_l("Uploaded"), lambda s: s.created_at),
    ],
    _l("Carrier statements"),
)
