"""Writing ledger entries inside the caller's transaction."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import select

from ..extensions import db
from ..types import CENT
from .models import CATEGORIES, LedgerEntry


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
        truck_id=truck_id, device_id=device_id, company_id=company_id, note=note,
    )
    db.session.add(entry)
    return entry


def entries_for(source_type, source_id):
    return db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.source_type == source_type, LedgerEntry.source_id == str(source_id)).order_by(LedgerEntry.id)
    ).all()


def reverse(entry, note=None):
    """Cancel ``entry`` with an equal and opposite entry in the same month; the original is never edited."""
    reversal = LedgerEntry(
        category=entry.category, amount=-entry.amount, period=entry.period, source_type=entry.source_type,
        source_id=entry.source_id, truck_id=entry.truck_id, device_id=entry.device_id, company_id=entry.company_id,
        reverses_id=entry.id, note=note or f"reverses entry {entry.id}",
    )
    db.session.add(reversal)
    return reversal
