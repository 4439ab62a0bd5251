"""Translated labels for domain values that pages would otherwise print raw.

Templates call ``label(kind, value)`` (a Jinja global from the app's ``_layout`` context processor):
``{{ label('role', current_user.role.value) }}``. An unknown value is shown as it is.
"""
from flask_babel import get_locale, pgettext
from flask_babel import gettext as _
from flask_babel.speaklater import LazyString


def _roles():
    return {"ops": _("Operations"), "contractor": _("Contractor"), "reviewer": _("Reviewer")}


def _actions():
    # Lower case on purpose: they read as verbs in the history tables ("what happened").
    return {
        "create": _("created"),
        "update": _("updated"),
        "delete": _("deleted"),
        "withdraw": _("withdrawn"),
        "import": _("imported"),
        "receive": _("received"),
        "revoke": _("revoked"),
        "publish": _("published"),
        "answer": _("answered"),
        "accept": _("accepted"),
        "uphold": _("upheld"),
        "correct": _("corrected"),
        "confirm": _("confirmed"),
        "reject": _("rejected"),
    }


def device_state_labels():
    return {
        "in_stock": _("In stock"),
        "reserved": _("Reserved"),
        "installed": _("Installed"),
        "faulty": _("Faulty"),
        "in_repair": _("In repair"),
        "retired": _("Retired"),
    }


def order_state_labels():
    return {
        "open": _("Open"), "assigned": _("Assigned"), "scheduled": _("Scheduled"), "installed": _("Installed"),
        "connected": _("Connected"), "completed": _("Completed"), "rework": _("Rework"), "cancelled": _("Cancelled"),
    }


def order_kind_labels():
    return {"install": _("Installation"), "removal": _("Removal"), "swap": _("Swap")}


def photo_kind_labels():
    return {"device_mounted": _("Device mounted"), "driver_camera": _("Driver camera view"), "plate": _("Plate")}


def sim_state_labels():
    return {"in_stock": _("In stock"), "active": _("Active"), "suspended": _("Suspended"), "retired": _("Retired")}


def statement_state_labels():
    """States of a carrier statement version (sims.models.STATEMENT_STATES)."""
    return {"queued": _("Queued"), "running": _("Running"), "done": _("Reconciled"), "failed": _("Failed"),
            "superseded": _("Superseded"), "needs_confirmation": _("Awaiting confirmation"),
            "rejected": _("Rejected")}


def ledger_category_labels():
    return {
        "device_purchase": _("Device purchase"), "installation_fee": _("Installation fee"),
        "sim_plan_fee": _("SIM plan fee"), "sim_overage": _("SIM overage"), "maintenance_labour": _("Maintenance labour"),
        "parts": _("Parts"), "travel": _("Travel"), "premium_refund": _("Premium refund"),
    }


def _ledger_sources():
    return {
        "purchase_order_line": _("Purchase order line"), "work_order": _("Work order"),
        "statement_line": _("Statement line"), "ticket": _("Ticket"), "finding_query": _("Audit query"),
    }


def ticket_category_labels():
    return {
        "camera_fault": _("Camera fault"), "device_offline": _("Device offline"), "sim_fault": _("SIM fault"),
        "power_wiring": _("Power or wiring"), "physical_damage": _("Physical damage"),
        "camera_covered": _("Camera covered or tampered"), "removal_request": _("Removal request"), "other": _("Other"),
    }


def sla_state_labels():
    return {"on_track": _("On track"), "at_risk": _("At risk"), "breached": _("Breached")}


def ticket_source_labels():
    return {
        "operator_call": _("Operator's call"), "zero_usage": _("Zero data usage (reconciliation)"),
        "platform_offline": _("Platform offline feed"), "road_check": _("Road-check finding"),
        "contractor": _("Contractor"), "staff": _("Staff"),
    }


def ticket_priority_labels():
    return {"urgent": _("Urgent"), "high": _("High"), "normal": _("Normal"), "low": _("Low")}


def ticket_state_labels():
    return {"open": _("Open"), "assigned": _("Assigned"), "in_progress": _("In progress"), "resolved": _("Resolved"),
            "closed": pgettext("ticket state", "Closed"), "cancelled": _("Cancelled")}


def ticket_resolution_labels():
    return {"repaired_on_site": _("Repaired on site"), "device_replaced": _("Device replaced"),
            "sim_replaced": _("SIM replaced"), "no_fault_found": _("No fault found"), "back_online": _("Back online")}


def ticket_event_labels():
    return {"created": pgettext("ticket event", "Opened"), "signal": _("Signal"), "state": _("State change"), "assigned": _("Assigned"),
            "note": _("Note"), "photo": _("Photo"), "cost": _("Cost"), "sla": _("SLA")}


def query_state_labels():
    """States of a reviewer's query on an audit finding."""
    return {"open": _("Awaiting the answer"), "answered": _("Answered"), "accepted": _("Accepted (explained)"), "upheld": _("Upheld (violation)")}


def audit_status_labels():
    return {"queued": pgettext("audit status", "Queued"), "running": pgettext("audit status", "Running"),
            "draft": pgettext("audit status", "Draft"), "published": pgettext("audit status", "Published"),
            "failed": pgettext("audit status", "Failed")}


def finding_reason_labels():
    return {"autonomous_rose": _("Autonomous coefficient rose"),
            "residual_over_tolerance": _("Unexplained residual over the tolerance")}


def device_type_labels():
    return {"all_in_one": _("All-in-one"), "split": _("Split")}


def vehicle_type_labels():
    return {"semi_trailer_tractor": _("Semi-trailer tractor"), "goods_vehicle": _("Goods vehicle"),
            "special_purpose": _("Special-purpose vehicle"), "trailer": _("Trailer"), "other": _("Other")}


def plate_colour_labels():
    return {1: _("Blue"), 2: _("Yellow"), 3: _("Black"), 4: _("White"), 9: _("Other")}


def policy_kind_labels():
    return {"commercial": _("Commercial"), "compulsory": _("Compulsory")}


def import_status_labels():
    """States of a file processed by a job (online-status imports)."""
    return {"pending": pgettext("import status", "Pending"), "running": pgettext("import status", "Running"),
            "done": pgettext("import status", "Done"), "failed": pgettext("import status", "Failed")}


def reconciliation_outcome_labels():
    """Outcomes of one statement line (sims.models.OUTCOMES)."""
    return {
        "matched": _("Matched"), "overbilled": _("Overbilled"), "underbilled": _("Underbilled"),
        "unknown_sim": _("Unknown SIM"), "inactive_billed": _("Billed while inactive"), "missing": _("Missing"),
        "duplicate_line": _("Duplicate line"), "line_inconsistent": _("Line inconsistent"),
    }


def reconciliation_flag_labels():
    return {"zero_usage_installed": _("Zero usage on an installed device"), "over_allowance": _("Over 1.5 x allowance")}


def sla_age_labels():
    """The age buckets of open tickets (maintenance.reports.AGE_BUCKETS)."""
    return {"under_1_day": _("Under 1 day"), "1_to_3_days": _("1 to 3 days"), "3_to_7_days": _("3 to 7 days"),
            "7_days_and_more": _("7 days and more")}


def sla_group_labels():
    """Rows of the SLA tables that are not a company, category or month."""
    return {"unassigned": _("Unassigned"), "total": _("Total")}


def removal_reason_labels():
    return {"truck_sold": _("Truck sold"), "policy_lapsed": _("Policy lapsed"), "device_faulty": _("Device faulty"),
            "other": pgettext("removal reason", "Other")}


def _carriers():
    return {"china_mobile": _("China Mobile"), "china_unicom": _("China Unicom"), "china_telecom": _("China Telecom")}


def _counties():
    # Names of fleet.identifiers.CHAOZHOU_DIVISIONS, by code.
    return {
        "445100": _("Chaozhou (city)"),
        "445102": _("Xiangqiao (incl. Fengxi)"),
        "445103": _("Chao'an"),
        "445122": _("Raoping"),
    }


def _http_statuses():
    return {
        "Bad Request": _("Bad Request"),
        "Unauthorized": _("Unauthorized"),
        "Forbidden": _("Forbidden"),
        "Not Found": _("Not Found"),
        "Method Not Allowed": _("Method Not Allowed"),
        "Conflict": _("Conflict"),
        "Request Entity Too Large": _("Request Entity Too Large"),
        "Unprocessable Entity": _("Unprocessable Entity"),
        "Too Many Requests": _("Too Many Requests"),
        "Internal Server Error": _("Internal Server Error"),
        "Error": _("Error"),
    }


def road_check_finding_labels():
    return {"no_device": _("No device"), "device_damaged": _("Device damaged"), "camera_covered": _("Camera covered"),
            "not_online": _("Not online")}


def road_check_outcome_labels():
    return {"ticket": _("Ticket opened or updated"), "work_order": _("Work order opened"),
            "recorded": _("Recorded (no work order)"), "unknown_plate": _("Unknown plate")}


_KINDS = {
    "road_check_finding": road_check_finding_labels,
    "road_check_outcome": road_check_outcome_labels,
    "role": _roles,
    "action": _actions,
    "device_state": device_state_labels,
    "order_state": order_state_labels,
    "order_kind": order_kind_labels,
    "photo_kind": photo_kind_labels,
    "sim_state": sim_state_labels,
    "statement_state": statement_state_labels,
    "query_state": query_state_labels,
    "ticket_category": ticket_category_labels,
    "sla_state": sla_state_labels,
    "ticket_source": ticket_source_labels,
    "ticket_priority": ticket_priority_labels,
    "ticket_state": ticket_state_labels,
    "ticket_resolution": ticket_resolution_labels,
    "ticket_event": ticket_event_labels,
    "carrier": _carriers,
    "audit_status": audit_status_labels,
    "finding_reason": finding_reason_labels,
    "policy_kind": policy_kind_labels,
    "vehicle_type": vehicle_type_labels,
    "device_type": device_type_labels,
    "plate_colour": plate_colour_labels,
    "ledger_category": ledger_category_labels,
    "ledger_source": _ledger_sources,
    "county": _counties,
    "import_status": import_status_labels,
    "reconciliation_outcome": reconciliation_outcome_labels,
    "reconciliation_flag": reconciliation_flag_labels,
    "sla_age": sla_age_labels,
    "sla_group": sla_group_labels,
    "removal_reason": removal_reason_labels,
    "http_status": _http_statuses,
}


def label(kind, value, default=None):
    """The translated label of ``value`` (a domain value of ``kind``), else ``default``, else ``value`` itself."""
    if value is None:
        return default or ""
    if kind == "action" and isinstance(value, str) and value.startswith("state:") and "->" in value:
        frm, _sep, to = value[len("state:"):].partition("->")
        states = {**sim_state_labels(), **device_state_labels()}  # SIM and device histories use the same action form
        return f"{states.get(frm, frm)} → {states.get(to, to)}"
    return _KINDS[kind]().get(value, value if default is None else default)


def cell(kind, value):
    """A code column's cell in an export: the code itself in English (what integrators match on, as in the API), its
    label in another language."""
    locale = get_locale()
    if value is None or locale is None or locale.language == "en":
        return value
    return label(kind, value)


def named(kind, value):
    """``value`` as an error message names it, lazily: in English the value itself (the API's word); in another
    language its label with the value in brackets, "故障（faulty）"."""

    def text():
        locale = get_locale()
        if locale is None or locale.language == "en":
            return str(value)
        shown = label(kind, value)
        return shown if shown == value else f"{shown}（{value}）"

    return LazyString(text)


def named_list(kind, values):
    """``named`` of each value, as one list to show ("a, b"; Chinese: "甲（a）、乙（b）")."""

    def text():
        locale = get_locale()
        separator = ", " if locale is None or locale.language == "en" else "、"
        return separator.join(str(named(kind, value)) for value in values)

    return LazyString(text)


# ---- for list exports (list_exports.py): code columns shown as their labels


def yes_no_labels():
    return {True: _("Yes"), False: _("No")}


def county_labels():
    return _counties()


def carrier_labels():
    return _carriers()
