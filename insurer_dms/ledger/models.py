"""Ledger entries: append-only; a correction is a reversing entry plus a new one.

The ORM guards below refuse any UPDATE or DELETE of an entry; on PostgreSQL a trigger (migration 0006_ledger)
refuses them whatever the client.
"""
import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, and_, cast, event, false, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..extensions import db
from ..types import Money, UTCDateTime, utcnow

STATEMENT_LINE = "statement_line"  # the source type of a carrier statement's lines

CATEGORIES = (
    "device_purchase",
    "installation_fee",
    "sim_plan_fee",
    "sim_overage",
    "maintenance_labour",
    "parts",
    "travel",
    "premium_refund",
)


class LedgerEntry(db.Model):
    """One amount paid (or reversed) by the insurer, for a month, caused by one source record.

    A carrier statement books one entry per line and category (a million-line statement: a million entries), so
    the table carries only the indexes a query uses, partial where most rows have no value (truck, device, company,
    reverses), and no foreign keys: every writer (``post``/``reverse``, the reconciliation's set-based booking) takes
    the ids from rows it has just read in the same transaction, entries are never changed or deleted, and trucks,
    devices and companies are never deleted either; PostgreSQL checking four keys per row doubled the cost of booking
    a statement.
    """

    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint("category IN (" + ", ".join(f"'{c}'" for c in CATEGORIES) + ")", name="category_known"),
        CheckConstraint("length(period) = 7", name="period_is_month"),
        # Entries of every source but statement lines, by their source (text ids).
        Index("ix_ledger_entry_source", "source_type", "source_id",
              postgresql_where=text(f"source_type <> '{STATEMENT_LINE}'"), sqlite_where=text(f"source_type <> '{STATEMENT_LINE}'")),
        # Months: entries are appended roughly in month order, so a block-range index finds a month's blocks at
        # almost no cost per row (a B-tree of a million equal keys per statement cost a tenth of the booking). A
        # statement line's entries are found through their month too (``source_is``): a B-tree of a million line ids
        # cost a million-line statement more than a second to write, for the rare look-up of one line's entries.
        Index("ix_ledger_entry_period", "period", postgresql_using="brin"),
        Index("ix_ledger_entry_truck_id", "truck_id", postgresql_where=text("truck_id IS NOT NULL"),
              sqlite_where=text("truck_id IS NOT NULL")),
        Index("ix_ledger_entry_device_id", "device_id", postgresql_where=text("device_id IS NOT NULL"),
              sqlite_where=text("device_id IS NOT NULL")),
        Index("ix_ledger_entry_company_id", "company_id", postgresql_where=text("company_id IS NOT NULL"),
              sqlite_where=text("company_id IS NOT NULL")),
        Index("uq_ledger_entry_reverses_id", "reverses_id", unique=True,  # an entry is reversed at most once
              postgresql_where=text("reverses_id IS NOT NULL"), sqlite_where=text("reverses_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(30))
    amount: Mapped[Decimal] = mapped_column(Money())  # negative only on reversing entries
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    truck_id: Mapped[int | None] = mapped_column(Integer)  # truck.id
    device_id: Mapped[int | None] = mapped_column(Integer)  # device.id
    company_id: Mapped[int | None] = mapped_column(Integer)  # contractor_company.id
    source_type: Mapped[str] = mapped_column(String(40))  # work_order, purchase_order_line, statement_line, ticket...
    source_id: Mapped[str] = mapped_column(String(60))
    reverses_id: Mapped[int | None] = mapped_column(Integer)  # ledger_entry.id of the entry this one cancels
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


def statement_line_id():
    """The entry's statement line id as an integer (use it with ``source_type == STATEMENT_LINE``)."""
    return cast(LedgerEntry.source_id, Integer)


def source_is(source_type, source_id):
    """The condition "caused by this source", written so that an index serves it: the text index for most sources;
    for a statement line, the month of its statement (the period index), then its id."""
    if source_type == STATEMENT_LINE:
        from ..sims.models import Statement, StatementLine

        text_id = str(source_id)
        if not (text_id.isascii() and text_id.isdigit() and len(text_id) <= 18):  # no line has such an id
            return false()
        month = (select(Statement.period).join(StatementLine, StatementLine.statement_id == Statement.id)
                 .where(StatementLine.id == int(source_id)).scalar_subquery())
        return and_(LedgerEntry.source_type == STATEMENT_LINE, LedgerEntry.period == month,
                    statement_line_id() == int(source_id))
    return and_(LedgerEntry.source_type == source_type, LedgerEntry.source_id == str(source_id))


class LedgerIsAppendOnly(RuntimeError):
    """Raised when code tries to change or delete a ledger entry (PostgreSQL's trigger refuses it too)."""


@event.listens_for(Session, "before_flush")
def _ledger_is_append_only(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, LedgerEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise LedgerIsAppendOnly("the cost ledger is append-only: post a correction instead")


@event.listens_for(Session, "do_orm_execute")
def _no_bulk_changes_to_the_ledger(state):
    """``update(LedgerEntry)`` and ``delete(LedgerEntry)`` skip the flush, so they are refused here."""
    if (state.is_update or state.is_delete) and any(
        m.class_ is LedgerEntry for m in state.all_mappers
    ):
        raise LedgerIsAppendOnly("the cost ledger is append-only: post a correction instead")
