"""Work orders, their photos, installations (device on truck, over time) and platform online-status imports."""
import datetime as dt

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..types import UTCDateTime, utcnow

ORDER_KINDS = ("install", "removal", "swap")
ORDER_STATES = ("open", "assigned", "scheduled", "installed", "connected", "completed", "rework", "cancelled")
# A truck has at most one order in these states at a time ("order already open").
ACTIVE_STATES = ("open", "assigned", "scheduled", "rework")
PHOTO_KINDS = ("device_mounted", "driver_camera", "plate")
REMOVAL_REASONS = ("truck_sold", "policy_lapsed", "device_faulty", "other")


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


_ACTIVE = text("state IN (" + ", ".join(f"'{s}'" for s in ACTIVE_STATES) + ")")


class WorkOrder(db.Model):
    """Work on one truck's device: install one, remove it, or swap it. Free for the truck's operator."""

    __tablename__ = "work_order"
    __table_args__ = (
        CheckConstraint(_in("kind", ORDER_KINDS), name="kind_known"),
        CheckConstraint(_in("state", ORDER_STATES), name="state_known"),
        Index("uq_work_order_active_truck", "truck_id", unique=True, postgresql_where=_ACTIVE, sqlite_where=_ACTIVE),
        Index("ix_work_order_company_state", "company_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default="install")
    state: Mapped[str] = mapped_column(String(12), default="open", index=True)
    truck_id: Mapped[int] = mapped_column(ForeignKey("truck.id"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("contractor_company.id"))
    reason: Mapped[str | None] = mapped_column(String(20))  # removal/swap: truck_sold, policy_lapsed, device_faulty
    appointment_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(Text)
    installed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    connected_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))  # the device installed by this order
    sim_id: Mapped[int | None] = mapped_column(ForeignKey("sim.id"))
    old_device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))  # removal/swap: the device taken off
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    review_note: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    truck = relationship("Truck")
    company = relationship("ContractorCompany")
    device = relationship("Device", foreign_keys=[device_id])
    old_device = relationship("Device", foreign_keys=[old_device_id])
    sim = relationship("Sim")
    photos: Mapped[list["WorkOrderPhoto"]] = relationship(back_populates="work_order", order_by="WorkOrderPhoto.kind")


class WorkOrderPhoto(db.Model):
    """A required evidence photo, stored in object storage; its EXIF capture time is checked against the install."""

    __tablename__ = "work_order_photo"
    __table_args__ = (
        UniqueConstraint("work_order_id", "kind", name="uq_work_order_photo_order_kind"),
        CheckConstraint(_in("kind", PHOTO_KINDS), name="kind_known"),
        CheckConstraint("size_bytes > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    object_key: Mapped[str] = mapped_column(String(300), unique=True)
    content_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int] = mapped_column(Integer)
    captured_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # from EXIF DateTimeOriginal
    other_day: Mapped[bool] = mapped_column(Boolean, default=False)  # taken on another day than the install
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    work_order: Mapped[WorkOrder] = relationship(back_populates="photos")


class Installation(db.Model):
    """A device mounted on a truck from ``installed_at`` until ``removed_at``.

    The partial unique indexes are the database's guarantee: at most one current device per truck and one
    current truck per device, whatever races the application loses.
    """

    __tablename__ = "installation"
    __table_args__ = (
        Index("uq_installation_current_device", "device_id", unique=True,
              postgresql_where=text("removed_at IS NULL"), sqlite_where=text("removed_at IS NULL")),
        Index("uq_installation_current_truck", "truck_id", unique=True,
              postgresql_where=text("removed_at IS NULL"), sqlite_where=text("removed_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    truck_id: Mapped[int] = mapped_column(ForeignKey("truck.id"), index=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"))
    installed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removal_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id"))
    first_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # first seen online by the platform
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    device = relationship("Device")
    truck = relationship("Truck")


class OnlineStatusImport(db.Model):
    """One upload of the provincial platform's online-status export, processed by an RQ job."""

    __tablename__ = "online_status_import"
    __table_args__ = (CheckConstraint(_in("status", ("pending", "running", "done", "failed")), name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    object_key: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    rows: Mapped[int | None] = mapped_column(Integer)
    matched: Mapped[int | None] = mapped_column(Integer)
    connected: Mapped[int | None] = mapped_column(Integer)  # orders moved to connected by this import
    unmatched: Mapped[list | None] = mapped_column(JSON)  # [{row, value, reason}]
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
