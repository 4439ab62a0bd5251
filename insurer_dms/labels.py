"""Translated labels for domain values that pages would otherwise print raw.

Templates call ``label(kind, value)`` (a Jinja global from the app's ``_layout`` context processor):
``{{ label('role', current_user.role.value) }}``. An unknown value is shown as it is.
"""
from flask_babel import gettext as _


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


def _http_messages():
    """Werkzeug's stock descriptions and the app's own generic error texts (errors.py)."""
    from werkzeug import exceptions as ex

    return {
        ex.BadRequest.description: _("The browser (or proxy) sent a request that this server could not understand."),
        ex.Forbidden.description: _("You don't have the permission to access the requested resource."),
        ex.NotFound.description: _("The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."),
        ex.MethodNotAllowed.description: _("The method is not allowed for the requested URL."),
        ex.RequestEntityTooLarge.description: _("The data value transmitted exceeds the capacity limit."),
        ex.InternalServerError.description: _("The server encountered an internal error and was unable to complete your request."),
        "Some fields are invalid.": _("Some fields are invalid."),
        "Internal error; it has been logged.": _("Internal error; it has been logged."),
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


_KINDS = {
    "role": _roles,
    "action": _actions,
    "device_state": device_state_labels,
    "order_state": order_state_labels,
    "order_kind": order_kind_labels,
    "photo_kind": photo_kind_labels,
    "sim_state": sim_state_labels,
    "carrier": _carriers,
    "county": _counties,
    "http_status": _http_statuses,
    "http_message": _http_messages,
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
