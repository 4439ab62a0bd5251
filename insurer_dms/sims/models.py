"""SIM cards and their assignment to devices (history kept)."""
import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..types import UTCDateTime, utcnow

CARRIERS = ("china_mobile", "china_unicom", "china_telecom")
SIM_STATES = ("in_stock", "active", "suspended", "retired")


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class Sim(db.Model):
    """A data SIM in a device; the insurer pays its plan and traffic."""

    __tablename__ = "sim"
    __table_args__ = (
        CheckConstraint(_in("carrier", CARRIERS), name="carrier_known"),
        CheckConstraint(_in("status", SIM_STATES), name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    iccid: Mapped[str] = mapped_column(String(20), unique=True)
    msisdn: Mapped[str] = mapped_column(String(13), unique=True)  # the JT/T 808 terminal phone number
    carrier: Mapped[str] = mapped_column(String(20), index=True)
    status: Mapped[str] = mapped_column(String(20), default="in_stock", index=True)
    activated_on: Mapped[dt.date | None] = mapped_column(Date)
    deactivated_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    assignments: Mapped[list["SimAssignment"]] = relationship(back_populates="sim", order_by="SimAssignment.id")


class SimAssignment(db.Model):
    """A SIM sitting in a device from ``started_at`` until ``ended_at``; one open assignment per SIM and per device."""

    __tablename__ = "sim_assignment"
    __table_args__ = (
        Index("uq_sim_assignment_open_sim", "sim_id", unique=True,
              postgresql_where=text("ended_at IS NULL"), sqlite_where=text("ended_at IS NULL")),
        Index("uq_sim_assignment_open_device", "device_id", unique=True,
              postgresql_where=text("ended_at IS NULL"), sqlite_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sim_id: Mapped[int] = mapped_column(ForeignKey("sim.id"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    sim: Mapped[Sim] = relationship(back_populates="assignments")
