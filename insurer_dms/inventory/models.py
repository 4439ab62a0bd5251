"""Purchase orders, their lines, the devices received against them and each device's history."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from ..catalogue.models import CatalogueEntry
from ..extensions import db
from ..types import Money, UTCDateTime, utcnow

# The device life cycle; the legal moves between these live in inventory.service.
DEVICE_STATES = ("in_stock", "reserved", "installed", "faulty", "in_repair", "retired")


class PurchaseOrder(db.Model):
    """An insurer's order of devices from a supplier, for models on the approved catalogue."""

    __tablename__ = "purchase_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(50), unique=True)
    supplier: Mapped[str] = mapped_column(String(200), index=True)
    order_date: Mapped[dt.date] = mapped_column(Date, index=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    lines: Mapped[list["PurchaseOrderLine"]] = relationship(
        back_populates="purchase_order", order_by="PurchaseOrderLine.line_no"
    )


class PurchaseOrderLine(db.Model):
    """One catalogue model, a quantity and the agreed unit price (never above the bid price)."""

    __tablename__ = "purchase_order_line"
    __table_args__ = (
        UniqueConstraint("purchase_order_id", "line_no", name="uq_purchase_order_line_po_line_no"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
        CheckConstraint("line_no > 0", name="line_no_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_order.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    catalogue_entry_id: Mapped[int] = mapped_column(ForeignKey("catalogue_entry.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money())

    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    catalogue_entry: Mapped[CatalogueEntry] = relationship()


class Device(db.Model):
    """One physical terminal (active-safety video device) in the insurer's hands."""

    __tablename__ = "device"
    __table_args__ = (
        CheckConstraint("status IN (" + ", ".join(f"'{s}'" for s in DEVICE_STATES) + ")", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(60), unique=True)
    terminal_id: Mapped[str] = mapped_column(String(30), unique=True)  # JT/T 808-2019: up to 30 bytes
    imei: Mapped[str | None] = mapped_column(String(15), unique=True)
    catalogue_entry_id: Mapped[int] = mapped_column(ForeignKey("catalogue_entry.id"), index=True)
    po_line_id: Mapped[int] = mapped_column(ForeignKey("purchase_order_line.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True, default="in_stock")
    received_on: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    catalogue_entry: Mapped[CatalogueEntry] = relationship()
    po_line: Mapped[PurchaseOrderLine] = relationship()
    events: Mapped[list["DeviceEvent"]] = relationship(back_populates="device", order_by="DeviceEvent.id")


class DeviceEvent(db.Model):
    """One step in a device's visible history: received, reserved, faulty, repaired, retired..."""

    __tablename__ = "device_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)

    device: Mapped[Device] = relationship(back_populates="events")


# How many devices have been received against a line, loaded with the line.
PurchaseOrderLine.received = column_property(
    select(func.count(Device.id)).where(Device.po_line_id == PurchaseOrderLine.id).correlate_except(Device).scalar_subquery()
)
