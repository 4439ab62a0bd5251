"""Change logs in words: the one place that turns activity entries (``activity.Activity``) into what a page shows.

``change_log(entries)`` gives, per entry, the time in Asia/Shanghai, who, the action as a verb ("创建", a state move
"待派单 → 已派单" in the entity's own state labels), one line per changed field — the field by its translated label
(``_field_labels``, per entity type where one column name means two things), the value by its meaning: an id as
the name of what it names (a company's name, a truck's plate, a device's serial...), a code by its label
(``labels.py``), None as "—", booleans 是/否, times local, money with two decimals, a dict of files as the files —
"before → after" when both are known — and the note, where the code wrote a sentence, in the user's language.
The ids of one page are resolved together: one query per kind of record, whatever the number of entries.
``ticket_event_details`` does the same for the fields a ticket's state events carry.
"""
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import get_locale, pgettext
from flask_babel import gettext as _
from sqlalchemy import select

from .extensions import db
from .labels import label
from .times import local_date, local_time

NOTHING = "—"
ARROW = " → "

# Actions whose "after" is the new record itself (a snapshot): the page above shows the record, the log says "created".
SNAPSHOT_ACTIONS = {"create", "import", "receive", "delete"}
# Columns no reader needs: storage keys, job ids, progress counters, secrets.
HIDDEN = {"object_key", "attachment_key", "attachment_content_type", "job_id", "progress", "password_hash",
          "token_hash", "secret_hash", "summary", "updated_at", "id"}
MONEY = {"amount", "premium", "benchmark_premium", "installation_fee", "monthly_fee", "overage_per_mb",
         "bid_unit_price", "unit_price", "refund_amount", "billed_total", "expected_total", "excess_total",
         "sum_insured_vehicle_damage", "sum_insured_third_party", "sum_insured_driver_passenger"}
# Fields that hold the id of another record, by the kind of that record.
REFERENCES = {
    "company_id": "company", "truck_id": "truck", "device_id": "device", "old_device_id": "device",
    "new_device_id": "device", "sim_id": "sim", "old_sim_id": "sim", "new_sim_id": "sim", "plan_id": "plan",
    "operator_id": "operator", "policy_id": "policy", "previous_policy_id": "policy",
    "catalogue_entry_id": "catalogue_entry", "work_order_id": "work_order", "removal_order_id": "work_order",
    "ticket_id": "ticket", "user_id": "user", "actor_id": "user", "created_by_id": "user", "published_by_id": "user",
    "raised_by_id": "user", "answered_by_id": "user", "closed_by_id": "user", "uploaded_by_id": "user",
}
# The state column of each entity type, by the labels kind of its values.
STATE_KINDS = {"work_order": "order_state", "ticket": "ticket_state", "sim": "sim_state", "device": "device_state",
               "statement": "statement_state", "audit_run": "audit_status", "finding_query": "query_state"}
# Other coded columns: labels kind, or {entity type: labels kind} where the same column name holds other codes.
CODES = {
    "kind": {"work_order": "order_kind", "policy": "policy_kind"},
    "category": {"ticket": "ticket_category", "ledger_entry": "ledger_category", "ticket_cost": "ledger_category"},
    "carrier": "carrier", "county_code": "county", "counties": "county", "priority": "ticket_priority",
    "resolution": "ticket_resolution", "sla_state": "sla_state", "source": "ticket_source", "role": "role",
    "vehicle_type": "vehicle_type", "plate_colour": "plate_colour", "category_code": "ledger_category",
    "reason": {"work_order": "removal_reason"},
}


def _field_labels():
    # Field labels have their own message context: "Kind", "State", "Opened"... mean other things elsewhere.
    return {
        "state": pgettext("field", "State"),
        "status": pgettext("field", "State"),
        "company_id": pgettext("field", "Contractor"),
        "truck_id": pgettext("field", "Truck"),
        "device_id": pgettext("field", "Device"),
        "old_device_id": pgettext("field", "Removed device"),
        "new_device_id": pgettext("field", "Replacement device"),
        "sim_id": pgettext("field", "SIM"),
        "old_sim_id": pgettext("field", "Removed SIM"),
        "new_sim_id": pgettext("field", "Replacement SIM"),
        "plan_id": pgettext("field", "Data plan"),
        "operator_id": pgettext("field", "Operator"),
        "policy_id": pgettext("field", "Policy"),
        "previous_policy_id": pgettext("field", "Previous policy"),
        "catalogue_entry_id": pgettext("field", "Catalogue entry"),
        "work_order_id": pgettext("field", "Work order"),
        "removal_order_id": pgettext("field", "Removal work order"),
        "ticket_id": pgettext("field", "Maintenance ticket"),
        "user_id": pgettext("field", "User"),
        "created_by_id": pgettext("field", "Created by"),
        "published_by_id": pgettext("field", "Published by"),
        "raised_by_id": pgettext("field", "Raised by"),
        "answered_by_id": pgettext("field", "Answered by"),
        "closed_by_id": pgettext("field", "Closed by"),
        "ledger_entry_id": pgettext("field", "Ledger entry"),
        "superseded_by_id": pgettext("field", "Superseded by"),
        "appointment_at": pgettext("field", "Appointment"),
        "address": pgettext("field", "Address"),
        "installed_at": pgettext("field", "Installed at"),
        "connected_at": pgettext("field", "Connected at"),
        "removed_at": pgettext("field", "Removed at"),
        "started_at": pgettext("field", "From"),
        "ended_at": pgettext("field", "Until"),
        "needs_review": pgettext("field", "Needs review"),
        "review_note": pgettext("field", "Review note"),
        "note": pgettext("field", "Note"),
        "reason": pgettext("field", "Reason"),
        "kind": pgettext("field", "Kind"),
        "number": pgettext("field", "Number"),
        "plate": pgettext("field", "Plate"),
        "plate_colour": pgettext("field", "Plate colour"),
        "vin": "VIN",
        "vehicle_type": pgettext("field", "Vehicle type"),
        "total_mass_kg": pgettext("field", "Total mass (kg)"),
        "county_code": pgettext("field", "County"),
        "name": pgettext("field", "Name"),
        "credit_code": pgettext("field", "Unified social credit code"),
        "contact_phone": pgettext("field", "Contact phone"),
        "start_date": pgettext("field", "Start date"),
        "end_date": pgettext("field", "End date"),
        "premium": pgettext("field", "Premium"),
        "benchmark_premium": pgettext("field", "Benchmark premium"),
        "ncd_coefficient": pgettext("field", "No-claims discount coefficient"),
        "autonomous_coefficient": pgettext("field", "Autonomous pricing coefficient"),
        "violation_coefficient": pgettext("field", "Traffic violation coefficient"),
        "sum_insured_vehicle_damage": pgettext("field", "Sum insured: vehicle damage"),
        "sum_insured_third_party": pgettext("field", "Sum insured: third party"),
        "sum_insured_driver_passenger": pgettext("field", "Sum insured: driver and passengers"),
        "iccid": "ICCID",
        "msisdn": pgettext("field", "Phone number"),
        "carrier": pgettext("field", "Carrier"),
        "activated_on": pgettext("field", "Activated on"),
        "deactivated_on": pgettext("field", "Deactivated on"),
        "code": pgettext("field", "Code"),
        "monthly_fee": pgettext("field", "Monthly fee"),
        "allowance_mb": pgettext("field", "Allowance (MB)"),
        "overage_per_mb": pgettext("field", "Overage per MB"),
        "valid_from": pgettext("field", "Valid from"),
        "valid_to": pgettext("field", "Valid to"),
        "tender_batch": pgettext("field", "Tender batch"),
        "lot": pgettext("field", "Lot"),
        "manufacturer": pgettext("field", "Manufacturer"),
        "model_code": pgettext("field", "Model"),
        "device_type": pgettext("field", "Device type"),
        "adas": "ADAS",
        "dsm": "DSM",
        "bsd": "BSD",
        "video_channels": pgettext("field", "Video channels"),
        "jtt808": "JT/T 808",
        "jtt1078": "JT/T 1078",
        "gd_active_safety": pgettext("field", "Guangdong active safety"),
        "bid_unit_price": pgettext("field", "Bid unit price"),
        "withdrawn_on": pgettext("field", "Withdrawn on"),
        "installation_fee": pgettext("field", "Installation fee"),
        "files": pgettext("field", "Files"),
        "inputs_sha256": pgettext("field", "SHA-256 of the inputs"),
        "version": pgettext("field", "Version"),
        "period_from": pgettext("field", "Period from"),
        "period_to": pgettext("field", "Period to"),
        "counties": pgettext("field", "Counties"),
        "tolerance": pgettext("field", "Tolerance"),
        "error": pgettext("field", "Error"),
        "renewals_audited": pgettext("field", "Renewals audited"),
        "findings_count": pgettext("field", "Findings"),
        "excess_total": pgettext("field", "Excess premium total"),
        "question": pgettext("field", "Question"),
        "raised_at": pgettext("field", "Raised at"),
        "answer": pgettext("field", "Answer"),
        "answered_at": pgettext("field", "Answered at"),
        "attachment_name": pgettext("field", "Attachment"),
        "attachment_size": pgettext("field", "Attachment size (bytes)"),
        "attachment_sha256": pgettext("field", "Attachment SHA-256"),
        "closing_note": pgettext("field", "Closing note"),
        "closed_at": pgettext("field", "Closed at"),
        "refund_amount": pgettext("field", "Refund amount"),
        "category": pgettext("field", "Category"),
        "priority": pgettext("field", "Priority"),
        "resolution": pgettext("field", "Resolution"),
        "resolution_note": pgettext("field", "Resolution note"),
        "resolved_at": pgettext("field", "Resolved at"),
        "work_started_at": pgettext("field", "Work started at"),
        "sla_state": pgettext("field", "SLA"),
        "sla_due_at": pgettext("field", "SLA due"),
        "at_risk_at": pgettext("field", "At risk since"),
        "breached_at": pgettext("field", "Breached at"),
        "description": pgettext("field", "Description"),
        "reopen_count": pgettext("field", "Times reopened"),
        "line_count": pgettext("field", "Lines"),
        "billed_total": pgettext("field", "Billed total"),
        "expected_total": pgettext("field", "Expected total"),
        "filename": pgettext("field", "File"),
        "sha256": "SHA-256",
        "booked_at": pgettext("field", "Booked at"),
        "finished_at": pgettext("field", "Finished at"),
        "period": pgettext("field", "Period"),
        "amount": pgettext("field", "Amount"),
        "email": pgettext("field", "Email"),
        "role": pgettext("field", "Role"),
        "active": pgettext("field", "Active"),
        "locale": pgettext("field", "Language"),
        "opened_at": pgettext("field", "Opened at"),
        "created_at": pgettext("field", "Created at"),
        "revoked_at": pgettext("field", "Revoked at"),
        "received_on": pgettext("field", "Received on"),
        "serial": pgettext("field", "Serial number"),
        "imei": "IMEI",
        "terminal_id": pgettext("field", "Terminal ID"),
        "quantity": pgettext("field", "Quantity"),
        "unit_price": pgettext("field", "Unit price"),
        "first_seen_at": pgettext("field", "First seen online"),
        "last_seen_at": pgettext("field", "Last seen online"),
        "scope": pgettext("field", "Scope"),
    }


def _entity_field_labels():
    """Where one column name means another thing on one entity type."""
    return {
        "work_order": {"kind": pgettext("field", "Work order kind")},
        "policy": {"kind": pgettext("field", "Policy kind")},
        "ticket": {"company_id": pgettext("field", "Maintenance contractor")},
        "sim": {"started_at": pgettext("field", "Fitted at"), "ended_at": pgettext("field", "Taken out at")},
    }


def field_label(entity_type, name):
    """The translated label of column ``name`` of ``entity_type``; an unknown one humanised ("removal_reason" ->
    "Removal reason"), never the column name itself."""
    shown = _entity_field_labels().get(entity_type, {}).get(name) or _field_labels().get(name)
    if shown:
        return shown
    words = name[:-3] if name.endswith("_id") else name
    return words.replace("_", " ").strip().capitalize() or name


def _actions():
    # Lower case: a verb ("what happened"); msgids shared with labels.py's "action" kind.
    return {
        "assign": pgettext("activity action", "fitted in a device"),
        "unassign": pgettext("activity action", "taken out of its device"),
        "remove": pgettext("activity action", "removed"),
        "replace": pgettext("activity action", "replaced"),
        "retry": pgettext("activity action", "retried"),
        "note": pgettext("activity action", "note added"),
        "set_password": pgettext("activity action", "password changed"),
        "pickup_failed": pgettext("activity action", "pick-up failed"),
    }


def action_text(entity_type, action):
    """The action as the log's verb; a state move ("state:open->assigned") in the entity's own state labels."""
    if action.startswith("state:") and "->" in action:
        frm, _sep, to = action[len("state:"):].partition("->")
        kind = STATE_KINDS.get(entity_type)
        if kind is None:
            return label("action", action)
        return f"{label(kind, frm)}{ARROW}{label(kind, to)}"
    shown = _actions().get(action) or label("action", action)
    return shown if shown != action else action.replace("_", " ")


def actor_text(actor):
    """Who acted: a user's e-mail as it is; the system's own actors (jobs, the command line) in words."""
    if not actor or "@" in actor:
        return actor or ""
    if actor.startswith("job:"):
        return _("Automatic job")
    return {"cli": _("Command line"), "demo": _("Demo data")}.get(actor, _("System"))


# Notes the code writes (in English, the language of jobs), shown in the user's language; typed notes as they are.
_STORED_NOTES = (
    (re.compile(r"bulk create for county (\d+)"),
     lambda m: _("Created for the county %(county)s.", county=label("county", m[1]))),
    (re.compile(r"import (.+)"), lambda m: _("Imported from %(file)s.", file=m[1])),
    (re.compile(r"version (\d+)"), lambda m: _("By version %(version)s.", version=m[1])),
    (re.compile(r"(.+\.(?:csv|xlsx)), row (\d+)", re.I), lambda m: _("%(file)s, row %(row)s", file=m[1], row=m[2])),
    (re.compile(r"(.+) \((\d+) lines\)((?:; carrier from the ICCIDs)?)((?:; held for confirmation: \d+ lines "
                r"against \d+ of version \d+)?)"), lambda m: _statement_note(m)),
)
_HELD = re.compile(r"; held for confirmation: (\d+) lines against (\d+) of version (\d+)")


def _statement_note(m):
    parts = [_("%(file)s, %(lines)s lines", file=m[1], lines=m[2])]
    if m[3]:
        parts.append(_("carrier from the ICCIDs"))
    if m[4]:
        held = _HELD.fullmatch(m[4])
        parts.append(_("held for confirmation: %(lines)s lines against %(current)s of version %(version)s",
                       lines=held[1], current=held[2], version=held[3]))
    return _separator().join(parts)


def note_text(note):
    for pattern, render in _STORED_NOTES:
        if note and (match := pattern.fullmatch(note)) is not None:
            return render(match)
    return note or ""


def _separator():
    locale = get_locale()
    return "; " if locale is None or locale.language == "en" else "；"


def _labelled(name, value):
    """'Field: value', with the full-width colon in Chinese."""
    locale = get_locale()
    return f"{name}{': ' if locale is None or locale.language == 'en' else '：'}{value}"


def _list_separator():
    locale = get_locale()
    return ", " if locale is None or locale.language == "en" else "、"


# ---------------------------------------------------------------- names of the records ids point at


def _name_queries():
    """Kind -> (model, columns): the columns that name a record, joined by a space."""
    from .auth.models import ContractorCompany, User
    from .catalogue.models import CatalogueEntry
    from .fleet.models import Operator, Policy, Truck
    from .installs.models import WorkOrder
    from .inventory.models import Device
    from .maintenance.models import Ticket
    from .sims.models import DataPlan, Sim

    return {
        "company": (ContractorCompany, (ContractorCompany.name,)),
        "truck": (Truck, (Truck.plate,)),
        "device": (Device, (Device.serial,)),
        "sim": (Sim, (Sim.iccid,)),
        "plan": (DataPlan, (DataPlan.name,)),
        "operator": (Operator, (Operator.name,)),
        "policy": (Policy, (Policy.number,)),
        "catalogue_entry": (CatalogueEntry, (CatalogueEntry.manufacturer, CatalogueEntry.model_code)),
        "work_order": (WorkOrder, (WorkOrder.number,)),
        "ticket": (Ticket, (Ticket.number,)),
        "user": (User, (User.email,)),
    }


def _as_id(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def resolve_names(wanted):
    """{kind: {id: name}} for ``wanted`` ({kind: set of ids}): one query per kind."""
    queries, names = _name_queries(), {}
    for kind, ids in wanted.items():
        ids = {i for i in ids if i is not None}
        if not ids:
            continue
        model, columns = queries[kind]
        rows = db.session.execute(select(model.id, *columns).where(model.id.in_(ids))).all()
        names[kind] = {row[0]: " ".join(str(part) for part in row[1:] if part) for row in rows}
    return names


def _wanted(pairs):
    """{kind: ids} named by the (field, value) ``pairs``."""
    wanted = defaultdict(set)
    for name, value in pairs:
        if name in REFERENCES and (number := _as_id(value)) is not None:
            wanted[REFERENCES[name]].add(number)
    return wanted


# ---------------------------------------------------------------- values


def _code_kind(entity_type, name):
    if name in ("state", "status"):
        return STATE_KINDS.get(entity_type)
    kind = CODES.get(name)
    return kind.get(entity_type) if isinstance(kind, dict) else kind


def _money(value):
    try:
        return f"{Decimal(str(value)):.2f}"
    except (InvalidOperation, ValueError):
        return str(value)


def _files(value):
    """A dict of report files by format (an audit's publication): the files by their names."""
    names = {"csv": "CSV", "xlsx": "XLSX", "pdf": "PDF", "pdf_en": _("PDF (English)")}
    if "pdf_en" in value:
        names["pdf"] = _("PDF (Chinese)")
    order = list(names)  # CSV, XLSX, then the PDFs, as the page lists them
    keys = sorted(value, key=lambda key: order.index(key) if key in order else len(order))
    return _list_separator().join(names.get(key, str(key).upper()) for key in keys)


def value_text(entity_type, name, value, names):
    """``value`` of column ``name`` as a reader takes it (see the module's docstring); ``names`` from
    ``resolve_names``."""
    if value is None or value == "":
        return NOTHING
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name in REFERENCES:
        number = _as_id(value)
        return names.get(REFERENCES[name], {}).get(number) or f"#{value}"
    if name.endswith("_id") and _as_id(value) is not None:
        return f"#{value}"
    if name == "files" and isinstance(value, dict):
        return _files(value)
    if name == "review_note" and entity_type == "work_order":
        from .installs.evidence import review_note_text

        return review_note_text(value)
    if (kind := _code_kind(entity_type, name)) is not None:
        if isinstance(value, list):
            return _list_separator().join(label(kind, v) for v in value) or NOTHING
        return label(kind, value)
    if name in MONEY:
        return _money(value)
    if name.endswith("sha256") and isinstance(value, str):
        return value[:12] + "…"
    if name.endswith("_at"):
        return local_time(value)
    if name.endswith(("_on", "_date")) or name in ("valid_from", "valid_to", "period_from", "period_to"):
        return local_date(value)
    if isinstance(value, dict):
        return _separator().join(
            _labelled(field_label(entity_type, k), value_text(entity_type, k, v, names))
            for k, v in value.items() if k not in HIDDEN)
    if isinstance(value, list):
        return _list_separator().join(value_text(entity_type, name, v, names) for v in value) or NOTHING
    return str(value)


# ---------------------------------------------------------------- entries


@dataclass
class ShownEntry:
    """One row of a change log as the page prints it."""

    at: str
    who: str
    what: str
    action: str  # the stored action code (for data attributes and tests)
    lines: list = field(default_factory=list)  # "Field: before → after", one per changed field
    note: str = ""


def _changed_fields(entry):
    if entry.action in SNAPSHOT_ACTIONS:
        return []
    before, after = entry.before or {}, entry.after or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    names = list(before) + [name for name in after if name not in before]
    state_move = entry.action.startswith("state:") and entry.entity_type in STATE_KINDS
    return [(name, name in before, before.get(name), name in after, after.get(name)) for name in names
            if name not in HIDDEN and not (state_move and name in ("state", "status"))]


def _line(entity_type, name, had_before, old, has_after, new, names):
    shown = field_label(entity_type, name)
    if name == "company_id" and had_before and old is None and new is not None:  # "分配给 潮州安驰…"
        return _("Assigned to %(name)s", name=value_text(entity_type, name, new, names))
    if had_before and has_after:
        change = f"{value_text(entity_type, name, old, names)}{ARROW}{value_text(entity_type, name, new, names)}"
    elif had_before:
        change = f"{value_text(entity_type, name, old, names)}{ARROW}{NOTHING}"
    else:
        change = value_text(entity_type, name, new, names)
    return _labelled(shown, change)


def change_log(entries):
    """The entries (``activity.history``) as ``ShownEntry`` rows; every id resolved in one query per kind."""
    entries = list(entries)
    changed = {entry.id: _changed_fields(entry) for entry in entries}
    pairs = [(name, value) for fields in changed.values() for name, _b, old, _a, new in fields for value in (old, new)]
    names = resolve_names(_wanted(pairs))
    return [
        ShownEntry(
            at=local_time(entry.at), who=actor_text(entry.actor), what=action_text(entry.entity_type, entry.action),
            action=entry.action, note=note_text(entry.note),
            lines=[_line(entry.entity_type, *f, names) for f in changed[entry.id]],
        )
        for entry in entries
    ]


def ticket_event_details(events):
    """{event id: lines} for the fields a ticket's events carry (a state move's company, resolution, replaced
    device or SIM; a cost's category and amount), in words; one query per kind of record named."""
    events = [e for e in events if isinstance(e.data, dict) and e.kind in ("state", "cost")]
    names = resolve_names(_wanted((name, value) for e in events for name, value in e.data.items()))
    details = {}
    for event in events:
        if event.kind == "cost":
            lines = [f"{label('ledger_category', event.data.get('category'))} {_money(event.data.get('amount'))}"]
        else:
            lines = [_line("ticket", name, True, None, True, value, names) if name == "company_id"
                     else _labelled(field_label("ticket", name), value_text("ticket", name, value, names))
                     for name, value in event.data.items() if name not in HIDDEN and value is not None]
        details[event.id] = lines
    return details
