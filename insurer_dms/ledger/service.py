"""Writing ledger entries inside the caller's transaction, correcting them, and reading them back as of a time.

Entries are never edited (models.py guards it, PostgreSQL's trigger too): a correction is a reversing entry plus a
new one. Every entry keeps its ``created_at``, so what the ledger said at any past moment is the set of entries
created up to then, and a month's total "as of" a date is reproducible after any later correction.
"""
import datetime as dt
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, cast, func, select, true

from .. import activity, notes
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..types import CENT, utcnow
from .models import CATEGORIES, LedgerEntry, source_is

# The source types entries point at (source_id is that record's id).
SOURCE_TYPES = ("purchase_order_line", "work_order", "statement_line", "ticket", "finding_query")


def period_of(day):
    """The ledger month ``YYYY-MM`` of a date or datetime."""
    return f"{day.year:04d}-{day.month:02d}"


def post(category, amount, period, source_type, source_id, truck_id=None, device_id=None, company_id=None, note=None):
    """Add one entry to the session (the caller commits it with its source, in one transaction)."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown ledger category {category!r}")
    amount = Decimal(amount).quantize(CENT)
    if isinstance(period, (dt.date, dt.datetime)):
        period = period_of(period)
    entry = LedgerEntry(
        category=category, amount=amount, period=period, source_type=source_type, source_id=str(source_id),
        truck_id=truck_id, device_id=device_id, company_id=company_id, note=note, created_at=utcnow(),
    )
    db.session.add(entry)
    return entry


def entries_for(source_type, source_id):
    return db.session.scalars(
        select(LedgerEntry).where(source_is(source_type, source_id)).order_by(LedgerEntry.id)
    ).all()


def reverse(entry, note=None):
    """Cancel ``entry`` with an equal and opposite entry in the same month; the original is never edited."""
    reversal = LedgerEntry(
        category=entry.category, amount=-entry.amount, period=entry.period, source_type=entry.source_type,
        source_id=entry.source_id, truck_id=entry.truck_id, device_id=entry.device_id, company_id=entry.company_id,
        reverses_id=entry.id, note=note or notes.write("reverses entry %(id)s", id=entry.id), created_at=utcnow(),
    )
    db.session.add(reversal)
    return reversal


def _live(entry):
    """Refuse to reverse a reversing entry or one already reversed (the unique reverses_id catches races)."""
    if entry.reverses_id is not None:
        raise Conflict(_l("Entry %(id)s is itself a reversal; correct the entry it reverses.", id=entry.id),
                       {"entry": [_l("Entry %(id)s reverses entry %(other)s.", id=entry.id, other=entry.reverses_id)]})
    reversed_by = db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.reverses_id == entry.id))
    if reversed_by is not None:
        raise Conflict(_l("Entry %(id)s was already reversed by entry %(other)s.", id=entry.id, other=reversed_by),
                       {"entry": [_l("Entry %(id)s was already reversed by entry %(other)s.", id=entry.id, other=reversed_by)]})


def repost(entry, note, **changes):
    """Reverse ``entry`` and post it again with ``changes`` (same source and month); returns (reversal, new entry)."""
    _live(entry)
    reversal = reverse(entry, note=note)
    values = {"category": entry.category, "amount": entry.amount, "period": entry.period,
              "source_type": entry.source_type, "source_id": entry.source_id, "truck_id": entry.truck_id,
              "device_id": entry.device_id, "company_id": entry.company_id, "note": note, **changes}
    return reversal, post(**values)


def get_entry(entry_id, lock=False):
    stmt = select(LedgerEntry).where(LedgerEntry.id == entry_id)
    if lock:
        stmt = stmt.with_for_update()
    entry = db.session.scalar(stmt)
    if entry is None:
        raise NotFound(_l("No ledger entry %(id)s.", id=entry_id))
    return entry


def correct(entry, new_amount, note):
    """Correct ``entry`` to ``new_amount``: a reversing entry plus a new one in the same month, never an edit.

    Adds both to the session and records the activity; the caller commits (``correct_entry`` does).
    """
    if not note or not note.strip():
        raise Invalid(_l("Say why the entry is corrected."), {"note": [_l("A correction needs a note.")]})
    new_amount = Decimal(new_amount).quantize(CENT)
    if new_amount == entry.amount:
        raise Invalid(_l("The new amount is the amount already booked."),
                      {"amount": [_l("Entry %(id)s is already %(amount)s.", id=entry.id, amount=entry.amount)]})
    reversal, replacement = repost(entry, note.strip(), amount=new_amount)
    db.session.flush()
    activity.record("correct", entry, before={"amount": entry.amount},
                    after={"amount": new_amount, "reversal_id": reversal.id, "replacement_id": replacement.id}, note=note)
    return reversal, replacement


def correct_entry(entry_id, new_amount, note):
    """The operator's correction of one entry; commits; returns the new entry."""
    from ..transactions import race_guard

    with race_guard():  # the row lock serialises corrections; the unique reverses_id has the last word, in the check's words
        entry = get_entry(entry_id, lock=True)
        _reversal, replacement = correct(entry, new_amount, note)
        db.session.commit()
    return replacement


def as_of_filter(as_of):
    """The entries the ledger held at ``as_of`` (None: now)."""
    return LedgerEntry.created_at <= as_of if as_of is not None else true()


def fen_sum(column=LedgerEntry.amount):
    """SUM of a money column as integer fen, exact on both databases (ROUND first: SQLite keeps NUMERIC as a float)."""
    return func.coalesce(func.sum(cast(func.round(column * 100), BigInteger)), 0)


def cny(fen):
    """CNY with two places from integer fen."""
    return (Decimal(int(fen)) / 100).quantize(CENT)


def month_total(period, as_of=None):
    """The total booked for ``period`` (YYYY-MM) by the entries created up to ``as_of`` (default: all)."""
    return cny(db.session.scalar(select(fen_sum()).where(LedgerEntry.period == period, as_of_filter(as_of))))


# ---- device purchases ----------------------------------------------------------------------------------


def book_device_purchases(devices, line, received_on):
    """One ``device_purchase`` entry per received device at the line's unit price, in the receipt's transaction.

    The truck is unknown while the device is in stock (None); ``attribute_device_purchase`` moves the cost onto the
    truck when the device is first installed.
    """
    for device in devices:
        post("device_purchase", line.unit_price, received_on, "purchase_order_line", line.id, device_id=device.id,
             note=notes.write("device %(serial)s", serial=device.serial))


def attribute_device_purchase(device_id, truck_id, note):
    """Put a device's purchase cost on the truck it is installed on: reverse the truck-less entry, post it again.

    Same month and amount, so no month's total changes; only the first installation moves it (a device reused on
    another truck keeps its cost on the first one). Returns the new entry, or None when there is nothing to move.
    """
    reversed_ids = select(LedgerEntry.reverses_id).where(LedgerEntry.reverses_id.is_not(None))
    entry = db.session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.category == "device_purchase", LedgerEntry.device_id == device_id,
            LedgerEntry.truck_id.is_(None), LedgerEntry.reverses_id.is_(None), LedgerEntry.id.not_in(reversed_ids),
        ).order_by(LedgerEntry.id).limit(1)
    )
    if entry is None:
        return None
    return repost(entry, note, truck_id=truck_id)[1]


def entries_query(truck_id=None, device_id=None, period=None, category=None, source_type=None, source_id=None):
    """Ledger entries matching the filters, newest first."""
    stmt = select(LedgerEntry)
    for column, value in ((LedgerEntry.truck_id, truck_id), (LedgerEntry.device_id, device_id),
                          (LedgerEntry.period, period), (LedgerEntry.category, category)):
        if value is not None:
            stmt = stmt.where(column == value)
    if source_type is not None and source_id is not None:
        stmt = stmt.where(source_is(source_type, source_id))  # served by an index
    elif source_type is not None:
        stmt = stmt.where(LedgerEntry.source_type == source_type)
    elif source_id is not None:
        stmt = stmt.where(LedgerEntry.source_id == source_id)
    return stmt.order_by(LedgerEntry.id.desc())


def truck_total(truck_id):
    """Everything booked on one truck, reversals included."""
    return cny(db.session.scalar(select(fen_sum()).where(LedgerEntry.truck_id == truck_id)))
