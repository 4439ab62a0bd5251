"""Ledger entries: append-only; a correction is a reversing entry plus a new one."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..types import Money, UTCDateTime, utcnow

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
    """One amount paid (or reversed) by the insurer, for a month, caused by one source record."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint("category IN (" + ", ".join(f"'{c}'" for c in CATEGORIES) + ")", name="category_known"),
        CheckConstraint("length(period) = 7", name="period_is_month"),
        Index("ix_ledger_entry_source", "source_type", "source_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(30), index=True)
    amount: Mapped[Decimal] = mapped_column(Money())  # negative only on reversing entries
    period: Mapped[str] = mapped_column(String(7), index=True)  # YYYY-MM
    truck_id: Mapped[int | None] = mapped_column(ForeignKey("truck.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("contractor_company.id"), index=True)
    source_type: Mapped[str] = mapped_column(String(40))  # work_order, purchase_order_line, statement_line, ticket...
    source_id: Mapped[str] = mapped_column(String(60))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"), unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
