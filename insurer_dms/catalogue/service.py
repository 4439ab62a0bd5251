"""Catalogue rules and transactions: entries, withdrawal, deletion and file import."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError

from .. import activity
from ..errors import Conflict, NotFound, invalid
from ..extensions import db
from ..transactions import commit_or_conflict, race_guard
from ..imports import RowErrors, column_names, load_rows
from .models import CatalogueEntry
from .schemas import IMPORT_ALIASES, CatalogueImportRowSchema

ENTITY = CatalogueEntry.__tablename__
# Changing these would rewrite the terms under which existing orders and devices were bought.
FROZEN_WHEN_REFERENCED = ("bid_unit_price", "valid_from")
KEY = ("tender_batch", "lot", "model_code")
DUPLICATE_KEY = _l("An entry with this tender batch, lot and model code already exists.")


def entries_query(q=None, manufacturer=None, device_type=None, usable_on=None, include_withdrawn=True):
    """The catalogue list with its filters, newest tender batch first."""
    stmt = select(CatalogueEntry)
    if q:
        text = q.strip()
        stmt = stmt.where(or_(*(column.icontains(text, autoescape=True) for column in
                                (CatalogueEntry.manufacturer, CatalogueEntry.model_code, CatalogueEntry.tender_batch))))
    if manufacturer:
        stmt = stmt.where(CatalogueEntry.manufacturer == manufacturer)
    if device_type:
        stmt = stmt.where(CatalogueEntry.device_type == device_type)
    if usable_on:
        # Same rule as CatalogueEntry.usable_on, in SQL.
        stmt = stmt.where(
            CatalogueEntry.valid_from <= usable_on,
            or_(CatalogueEntry.valid_to.is_(None), CatalogueEntry.valid_to >= usable_on),
            or_(CatalogueEntry.withdrawn_on.is_(None), CatalogueEntry.withdrawn_on > usable_on),
        )
    if not include_withdrawn:
        stmt = stmt.where(CatalogueEntry.withdrawn_on.is_(None))
    return stmt.order_by(CatalogueEntry.tender_batch.desc(), CatalogueEntry.lot, CatalogueEntry.model_code, CatalogueEntry.id)


def manufacturers():
    """Distinct manufacturers, for the list page's filter."""
    return db.session.scalars(select(CatalogueEntry.manufacturer).distinct().order_by(CatalogueEntry.manufacturer)).all()


def get_entry(entry_id, lock=False):
    stmt = select(CatalogueEntry).where(CatalogueEntry.id == entry_id)
    if lock:
        stmt = stmt.with_for_update()
    entry = db.session.scalar(stmt)
    if entry is None:
        raise NotFound(_l("Catalogue entry %(id)s does not exist.", id=entry_id))
    return entry


def _referencing_columns():
    """Every column in any table with a foreign key to catalogue_entry.id (inventory, installs, ...)."""
    target = CatalogueEntry.__table__.c.id
    return [fk.parent for table in db.metadata.tables.values() for fk in table.foreign_keys if fk.column is target]


def reference_count(entry_id):
    """How many rows elsewhere point at this entry."""
    total = 0
    for column in _referencing_columns():
        total += db.session.scalar(select(func.count()).select_from(column.table).where(column == entry_id))
    return total


def is_referenced(entry_id):
    return any(db.session.scalar(select(exists().where(column == entry_id))) for column in _referencing_columns())


def _key_taken(values, exclude_id=None):
    stmt = select(CatalogueEntry.id).where(*(getattr(CatalogueEntry, k) == values[k] for k in KEY))
    if exclude_id is not None:
        stmt = stmt.where(CatalogueEntry.id != exclude_id)
    return db.session.scalar(stmt) is not None


def _commit_or_conflict():
    # A concurrent writer won the race for the unique key (or a reference appeared).
    commit_or_conflict(DUPLICATE_KEY, "model_code")


@race_guard()  # the key taken at the same moment (the insert is flushed for the activity entry)
def create_entry(data):
    """Add an entry to the catalogue."""
    if _key_taken(data):
        raise Conflict(DUPLICATE_KEY, {"model_code": [DUPLICATE_KEY]})
    entry = CatalogueEntry(**data)
    db.session.add(entry)
    activity.record("create", entry)
    _commit_or_conflict()
    return entry


def update_entry(entry_id, data):
    """Change some fields of an entry; price and start of validity are frozen once it is referenced."""
    entry = get_entry(entry_id, lock=True)
    changed = [k for k, v in data.items() if getattr(entry, k) != v]
    frozen = [k for k in changed if k in FROZEN_WHEN_REFERENCED]
    if frozen and is_referenced(entry.id):
        message = _l("The entry is referenced by orders or devices; this field cannot change. Withdraw it and add a new entry instead.")
        raise Conflict(message, {k: [message] for k in frozen})
    valid_from = data.get("valid_from", entry.valid_from)
    valid_to = data.get("valid_to", entry.valid_to)
    if valid_to is not None and valid_to < valid_from:
        raise invalid("valid_to", _l("Must be on or after valid_from."))
    merged = {k: data.get(k, getattr(entry, k)) for k in KEY}
    if any(k in changed for k in KEY) and _key_taken(merged, exclude_id=entry.id):
        raise Conflict(DUPLICATE_KEY, {"model_code": [DUPLICATE_KEY]})
    before, after = activity.changes(entry, data)
    if after:
        activity.record("update", entry, before, after)
    _commit_or_conflict()
    return entry


def withdraw_entry(entry_id, withdrawn_on):
    """Take an entry off the catalogue from ``withdrawn_on``; it stays for the records."""
    entry = get_entry(entry_id, lock=True)
    if entry.withdrawn_on is not None:
        message = _l("Already withdrawn on %(day)s.", day=entry.withdrawn_on.isoformat())
        raise Conflict(message, {"withdrawn_on": [message]})
    before, after = activity.changes(entry, {"withdrawn_on": withdrawn_on})
    activity.record("withdraw", entry, before, after)
    db.session.commit()
    return entry


def delete_entry(entry_id):
    """Remove an entry that nothing refers to (a mistake); referenced entries are withdrawn instead."""
    entry = get_entry(entry_id, lock=True)
    message = _l("The entry is referenced; withdraw it instead.")
    if is_referenced(entry.id):
        raise Conflict(message)
    activity.record("delete", entry, before=activity.snapshot(entry))
    db.session.delete(entry)
    try:
        db.session.commit()
    except IntegrityError:
        # The foreign keys guard the race where a reference appears between the check and the delete.
        db.session.rollback()
        raise Conflict(message) from None


def _differences(entry, values):
    return [k for k, v in values.items() if getattr(entry, k) != v]


@race_guard()
def import_entries(data, filename):
    """Load a catalogue file: every row valid or nothing stored; identical rows already present are left alone."""
    rows = load_rows(data, filename, CatalogueImportRowSchema(), IMPORT_ALIASES)
    errors = RowErrors()
    seen = {}
    keys = {tuple(values[k] for k in KEY) for _, values in rows}
    existing = {}
    key_list = list(keys)
    for start in range(0, len(key_list), 500):  # bounded IN lists
        chunk = key_list[start:start + 500]
        for entry in db.session.scalars(select(CatalogueEntry).where(tuple_(*(getattr(CatalogueEntry, k) for k in KEY)).in_(chunk))):
            existing[tuple(getattr(entry, k) for k in KEY)] = entry
    to_create, unchanged = [], 0
    for number, values in rows:
        key = tuple(values[k] for k in KEY)
        if key in seen:
            errors.add(number, "model_code", _l("Duplicate of row %(row)s (same tender batch, lot and model code).", row=seen[key]))
            continue
        seen[key] = number
        if key in existing:
            differing = _differences(existing[key], values)
            if differing:
                errors.add(number, "model_code", _l("Already in the catalogue with other values (%(columns)s); edit the entry instead.",
                                                    columns=column_names(differing, IMPORT_ALIASES)))
            else:
                unchanged += 1
            continue
        to_create.append((number, values))
    errors.raise_if_any()

    created = [(number, CatalogueEntry(**values)) for number, values in to_create]
    db.session.add_all([entry for _, entry in created])
    db.session.flush()
    for number, entry in created:
        activity.record("import", entry, after=activity.snapshot(entry), note=f"{filename}, row {number}")
    result = {"created": len(to_create), "unchanged": unchanged}
    activity.record("import", None, after=result, note=filename, entity_type="catalogue_import", entity_id=filename[:60])
    _commit_or_conflict()
    return result
