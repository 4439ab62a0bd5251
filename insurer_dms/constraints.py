"""What a database constraint that refused a write means to the user: one entry per unique constraint or index.

Every rule that must never break under concurrency is a unique constraint or partial unique index (there are no
exclusion constraints). The services check first, for a friendly message; two requests racing past the check both
write, and the database lets one through. The loser must hear what the check would have told it a moment later, as
a 409: ``GUARDS`` maps each constraint's name to the field and message of that check, so the message lives here once
and ``transactions.race_guard`` (services) and the error handler (anything that escapes) both answer with it.

Messages are message ids with ``%(name)s`` parameters taken from the key PostgreSQL reports (``Key (plate)=(粤U12345)
already exists.``: ``plate``) and from the guard's ``lookup``, a query run after the rollback with the key's values:
on PostgreSQL the loser's insert waited for the winner's commit, so the lookup sees the winner's row (the open order
that got there first, the SIM that holds the number). SQLite names the columns instead of the constraint and gives no
values; a message whose parameters are missing falls back to the caller's message or a general one (SQLite has a
single writer, so a race there is not the usual case).

The other integrity errors are not races on a key:
* a foreign key (23503): the row referred to was removed (or the referring one appeared) between the check and the
  write: 409 like a race; the same request a moment later gets the service's own 404/422;
* NOT NULL (23502) or CHECK (23514): the values themselves break a rule of the table, whoever else is writing: the
  request is refused as invalid input (422) and the same request will always be refused; it means a schema let
  something through that it should have refused, so it is logged as an error to be fixed.
"""
import logging
import re
from dataclasses import dataclass

from flask_babel import lazy_gettext
from sqlalchemy import UniqueConstraint, text
from sqlalchemy.exc import SQLAlchemyError

from .errors import Conflict, Invalid
from .extensions import db

log = logging.getLogger(__name__)


def N_(msgid):
    """Mark a message id for extraction; it is translated when the refusal is built (``lazy_gettext``)."""
    return msgid


@dataclass(frozen=True)
class Guard:
    """The friendly check behind a constraint: the field it names, its message and, when the field's message
    differs from the general one, ``detail``; ``lookup``: SQL giving more parameters from the key's values."""

    field: str | None
    message: str
    detail: str | None = None
    lookup: str | None = None


DEVICES_TAKEN = N_("Some devices are already registered; nothing was stored.")

GUARDS = {
    # auth
    "uq_user_email": Guard("email", N_("User %(email)s already exists."), N_("Already exists.")),
    "uq_contractor_company_name": Guard(
        "company", N_("Contractor company %(name)s was created by another request at the same moment; try again.")),
    # catalogue
    "uq_catalogue_entry_batch_lot_model": Guard(
        "model_code", N_("An entry with this tender batch, lot and model code already exists.")),
    # fleet (also the policy-system import)
    "uq_operator_credit_code": Guard("credit_code", N_("Credit code %(credit_code)s is already registered.")),
    "uq_truck_plate": Guard("plate", N_("Plate %(plate)s is already registered.")),
    "uq_truck_vin": Guard("vin", N_("VIN %(vin)s is already registered.")),
    "uq_policy_number": Guard("number", N_("Policy number %(number)s is already registered.")),
    # inventory
    "uq_purchase_order_number": Guard("number", N_("Purchase order %(number)s already exists.")),
    "uq_device_serial": Guard("serial", DEVICES_TAKEN, N_("Serial %(serial)s is already registered.")),
    "uq_device_terminal_id": Guard("terminal_id", DEVICES_TAKEN, N_("Terminal ID %(terminal_id)s is already registered.")),
    "uq_device_imei": Guard("imei", DEVICES_TAKEN, N_("IMEI %(imei)s is already registered.")),
    # installs: the same words as the eligibility refusal (installs.service._refusal and _order_open)
    "uq_work_order_active_truck": Guard(
        "truck_id", N_("Truck %(plate)s cannot get a work order (order_open)."),
        N_("Work order %(number)s is already %(state)s for this truck."),
        lookup="SELECT t.plate, w.number, w.state FROM truck t JOIN work_order w ON w.truck_id = t.id "
               "WHERE t.id = CAST(:truck_id AS INTEGER) ORDER BY w.id DESC LIMIT 1"),
    "uq_installation_current_device": Guard("device_serial", N_("This device is already installed on a truck.")),
    "uq_installation_current_truck": Guard("truck_id", N_("This truck already has a device installed.")),
    "uq_work_order_photo_order_kind": Guard(
        "kind", N_("Another upload of this photo was registered at the same moment; try again.")),
    "uq_work_order_photo_object_key": Guard(
        "key", N_("This photo is already registered; ask for a new upload URL to replace it.")),
    # sims
    "uq_sim_iccid": Guard("iccid", N_("SIM %(iccid)s is already registered.")),
    "uq_sim_msisdn": Guard("msisdn", N_("Terminal number %(msisdn)s belongs to another SIM (%(iccid)s)."),
                           lookup="SELECT iccid FROM sim WHERE msisdn = :msisdn"),
    "uq_sim_assignment_open_sim": Guard("iccid", N_("This SIM is already in another device; remove it there first.")),
    "uq_sim_assignment_open_device": Guard("device_serial", N_("This device already holds another SIM.")),
    "uq_data_plan_carrier_code": Guard("code", N_("This carrier already has a plan with this code.")),
    "uq_statement_carrier_period_version": Guard(
        None, N_("Another %(carrier)s statement for %(period)s was stored at the same moment; upload again.")),
    "uq_statement_sha256": Guard("file", N_("This file was stored at the same moment by another upload.")),
    # maintenance
    "uq_ticket_active_truck_category": Guard(
        "category", N_("Ticket %(number)s is already active for this truck and category."),
        lookup="SELECT number FROM ticket WHERE truck_id = CAST(:truck_id AS INTEGER) AND category = :category "
               "ORDER BY id DESC LIMIT 1"),
    "uq_ticket_state_span_current": Guard(
        "state", N_("Someone else changed this ticket at the same moment; reload and try again.")),
    "uq_ticket_photo_object_key": Guard("key", N_("This photo was registered at the same moment by another request.")),
    # audits
    "uq_audit_run_scope_version": Guard(None, N_("Another run of %(scope)s was created at the same moment; try again.")),
    "uq_audit_finding_audit_policy": Guard(
        None, N_("This audit run was computed at the same moment by another job; nothing was saved.")),
    "uq_audit_file_audit_format": Guard("status", N_("This audit was published at the same moment; reload it.")),
    "uq_audit_file_object_key": Guard("status", N_("This audit was published at the same moment; reload it.")),
    "uq_finding_query_open": Guard(
        "finding", N_("This finding already has query %(id)s (%(state)s); it must be closed before another is raised."),
        lookup="SELECT id, state FROM finding_query WHERE finding_id = CAST(:finding_id AS INTEGER) "
               "ORDER BY id DESC LIMIT 1"),
    # ledger
    "uq_ledger_entry_reverses_id": Guard(
        "entry", N_("Entry %(reverses_id)s was already reversed by entry %(reversed_by)s."),
        lookup="SELECT id AS reversed_by FROM ledger_entry WHERE reverses_id = CAST(:reverses_id AS INTEGER)"),
}

# Unique keys no two requests can both want: why each is safe (tests/test_races.py checks the two lists cover all).
NO_RACE = {
    "uq_api_token_token_hash": "the SHA-256 of 256 random bits",
    "uq_user_session_secret_hash": "the SHA-256 of a login session's 256 random bits",
    "uq_work_order_number": "a random placeholder, then a number made of the row's own id",
    "uq_ticket_number": "a random placeholder, then a number made of the row's own id",
    "uq_purchase_order_line_po_line_no": "the lines are numbered inside their own new purchase order",
    "uq_road_check_finding_import_row": "the rows of their own new import",
}

UNIQUE, FOREIGN_KEY, NOT_NULL, CHECK = "unique", "foreign_key", "not_null", "check"
_SQLSTATES = {"23505": UNIQUE, "23P01": UNIQUE, "23503": FOREIGN_KEY, "23502": NOT_NULL, "23514": CHECK}
GENERAL = {
    UNIQUE: N_("Another request stored a clashing record at the same moment; nothing was saved. Reload and try again."),
    FOREIGN_KEY: N_("A record this refers to was changed or removed at the same moment; nothing was saved. "
                    "Reload and try again."),
    NOT_NULL: N_("Some values are missing; nothing was saved."),
    CHECK: N_("Some values are outside what can be stored; nothing was saved."),
}
REQUIRED = N_("A value is required.")


@dataclass(frozen=True)
class Violation:
    """What the database said: the kind of rule, the constraint's name, the table and column, the key's values."""

    kind: str | None
    constraint: str | None = None
    table: str | None = None
    column: str | None = None
    key: dict | None = None


_PG_KEY = re.compile(r"^Key \(([^)]*)\)=\((.*)\) already exists\.$", re.DOTALL)
_SQLITE = re.compile(r"^(UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed(?:: (.*))?$")
_SQLITE_KINDS = {"UNIQUE": UNIQUE, "NOT NULL": NOT_NULL, "CHECK": CHECK, "FOREIGN KEY": FOREIGN_KEY}
_PARAMETER = re.compile(r"%\((\w+)\)s")


def _pg_key(detail):
    """``Key (a, b)=(1, x) already exists.`` as {"a": "1", "b": "x"}; None when the values cannot be told apart."""
    found = _PG_KEY.match(detail or "")
    if not found:
        return None
    columns, values = found.group(1).split(", "), found.group(2).split(", ")
    return dict(zip(columns, values)) if len(columns) == len(values) else None


def _unique_names():
    """{(table, (columns...)): name} of every unique constraint and unique index, for SQLite's messages."""
    names = {}
    for table in db.metadata.tables.values():
        keys = [c for c in table.constraints if isinstance(c, UniqueConstraint)] + [i for i in table.indexes if i.unique]
        for key in keys:
            names[(table.name, tuple(c.name for c in key.columns))] = key.name
    return names


def violation(err):
    """Read an IntegrityError (PostgreSQL's SQLSTATE and diagnostics, or SQLite's message)."""
    orig = getattr(err, "orig", err)
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:  # psycopg
        diag = orig.diag
        kind = _SQLSTATES.get(sqlstate)
        return Violation(kind, diag.constraint_name, diag.table_name, diag.column_name,
                         _pg_key(diag.message_detail) if kind == UNIQUE else None)
    found = _SQLITE.match(str(orig.args[0]) if getattr(orig, "args", None) else "")
    if not found:
        return Violation(None)
    kind, rest = _SQLITE_KINDS[found.group(1)], found.group(2) or ""
    if kind == UNIQUE:
        columns = [part.strip().split(".", 1) for part in rest.split(",")]
        table = columns[0][0] if columns and len(columns[0]) == 2 else None
        name = _unique_names().get((table, tuple(c[-1] for c in columns)))
        return Violation(kind, name, table)
    if kind == NOT_NULL and "." in rest:
        table, column = rest.split(".", 1)
        return Violation(kind, None, table, column)
    return Violation(kind, rest or None)


def _lookup(guard, key):
    """The guard's extra parameters, read after the rollback (a failure leaves them out, the message falls back)."""
    if not guard.lookup or key is None:
        return {}
    try:
        row = db.session.execute(text(guard.lookup), key).mappings().first()
    except SQLAlchemyError:
        log.exception("the lookup of %s failed", guard.message)
        row = None
    db.session.rollback()
    return {name: value for name, value in (row or {}).items() if value is not None}


def _message(msgid, params):
    """The translated message with ``params``, or None when one of its parameters is unknown."""
    if msgid is None or any(name not in params for name in _PARAMETER.findall(msgid)):
        return None
    return lazy_gettext(msgid, **params)


def refusal(err, message=None, field=None):
    """The domain error for an IntegrityError, after the session was rolled back.

    A unique key or a foreign key: ``Conflict`` (409) with the caller's ``message`` and ``field`` when given (a unit
    of work that words every race it can lose in one way, e.g. closing an order), else the guard's; NOT NULL or
    CHECK: ``Invalid`` (422).
    """
    found = violation(err)
    if found.kind in (NOT_NULL, CHECK):
        log.error("the database refused a value a schema should have refused: %s %s.%s (%s)",
                  found.kind, found.table, found.column, found.constraint)
        general = lazy_gettext(GENERAL[found.kind])
        return Invalid(general, {found.column: [lazy_gettext(REQUIRED)]} if found.column else None)
    log.info("a race was lost on %s (%s)", found.constraint or "an unnamed constraint", found.kind)
    if message is not None:
        return Conflict(message, {field: [message]} if field else None)
    guard = GUARDS.get(found.constraint) if found.kind == UNIQUE else None
    if guard is not None:
        params = {**(found.key or {}), **_lookup(guard, found.key)}
        text_ = _message(guard.message, params)
        if text_ is not None:
            detail = _message(guard.detail, params) if guard.detail else text_
            return Conflict(text_, {guard.field: [detail or text_]} if guard.field else None)
    general = lazy_gettext(GENERAL.get(found.kind) or GENERAL[UNIQUE])
    return Conflict(general, {guard.field: [general]} if guard is not None and guard.field else None)
