"""Maintenance tickets about one truck's device, their events, photos, cost lines, and road-check findings."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..types import Money, UTCDateTime, utcnow

CATEGORIES = ("camera_fault", "device_offline", "sim_fault", "power_wiring", "physical_damage", "camera_covered",
              "removal_request", "other")
SOURCES = ("operator_call", "zero_usage", "platform_offline", "road_check", "contractor", "staff")
PRIORITIES = ("urgent", "high", "normal", "low")
STATES = ("open", "assigned", "in_progress", "resolved", "closed", "cancelled")
# A truck has at most one ticket per category in these states: a new signal adds an event to it instead.
ACTIVE_STATES = ("open", "assigned", "in_progress")
RESOLUTIONS = ("repaired_on_site", "device_replaced", "sim_replaced", "no_fault_found", "back_online")
SLA_STATES = ("on_track", "at_risk", "breached")
EVENT_KINDS = ("created", "signal", "state", "assigned", "note", "photo", "cost", "sla")
COST_CATEGORIES = ("maintenance_labour", "parts", "travel")  # ledger categories
FINDINGS = ("no_device", "device_damaged", "camera_covered", "not_online")
FINDING_OUTCOMES = ("ticket", "work_order", "recorded", "unknown_plate")


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


_ACTIVE = text(_in("state", ACTIVE_STATES))


class Ticket(db.Model):
    """Something wrong with one truck's device, to be fixed by a contractor within the SLA of its priority.

    ``device_id`` is the device on the truck when the ticket was opened (None when there was none). The partial
    unique index is the database's guarantee of one active ticket per truck (hence per device) and category.
    """

    __tablename__ = "ticket"
    __table_args__ = (
        CheckConstraint(_in("category", CATEGORIES), name="category_known"),
        CheckConstraint(_in("source", SOURCES), name="source_known"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority_known"),
        CheckConstraint(_in("state", STATES), name="state_known"),
        CheckConstraint(_in("sla_state", SLA_STATES), name="sla_state_known"),
        CheckConstraint("resolution IS NULL OR " + _in("resolution", RESOLUTIONS), name="resolution_known"),
        Index("uq_ticket_active_truck_category", "truck_id", "category", unique=True,
              postgresql_where=_ACTIVE, sqlite_where=_ACTIVE),
        Index("ix_ticket_company_state", "company_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)  # TK-YYYYMMDD-<id>
    truck_id: Mapped[int] = mapped_column(ForeignKey("truck.id"), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    state: Mapped[str] = mapped_column(String(12), default="open", index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("contractor_company.id"))
    description: Mapped[str | None] = mapped_column(Text)
    # SLA: due = opened_at + the priority's hours (TICKET_SLA_HOURS); at risk once 80% of that time is used.
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sla_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    sla_state: Mapped[str] = mapped_column(String(10), default="on_track")
    at_risk_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # when the SLA job marked it
    breached_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    work_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # first in_progress: somebody worked on it
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    signal_count: Mapped[int] = mapped_column(Integer, default=1)  # signals folded into this ticket
    last_signal_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Device or SIM replacement: what went in, what came out (the inventory and SIM history hold the rest).
    new_device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))
    old_sim_id: Mapped[int | None] = mapped_column(ForeignKey("sim.id"))
    new_sim_id: Mapped[int | None] = mapped_column(ForeignKey("sim.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    truck = relationship("Truck")
    device = relationship("Device", foreign_keys=[device_id])
    new_device = relationship("Device", foreign_keys=[new_device_id])
    company = relationship("ContractorCompany")
    events: Mapped[list["TicketEvent"]] = relationship(back_populates="ticket", order_by="TicketEvent.id")
    spans: Mapped[list["TicketStateSpan"]] = relationship(back_populates="ticket", order_by="TicketStateSpan.id")
    photos: Mapped[list["TicketPhoto"]] = relationship(back_populates="ticket", order_by="TicketPhoto.id")
    costs: Mapped[list["TicketCost"]] = relationship(back_populates="ticket", order_by="TicketCost.id")


class TicketEvent(db.Model):
    """One thing that happened to a ticket: created, a further signal, a state change, a note, a photo, a cost."""

    __tablename__ = "ticket_event"
    __table_args__ = (CheckConstraint(_in("kind", EVENT_KINDS), name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    source: Mapped[str | None] = mapped_column(String(20))  # for signals: one of SOURCES
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str | None] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)  # e.g. {"statement_id": 3, "line_id": 9} or {"last_seen_at": ...}
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(120))  # activity.actor_label(): user e-mail or job:<name>
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class TicketStateSpan(db.Model):
    """A ticket's stay in one state, from ``entered_at`` until ``left_at`` (None while it is there): time per state."""

    __tablename__ = "ticket_state_span"
    __table_args__ = (
        CheckConstraint(_in("state", STATES), name="state_known"),
        Index("uq_ticket_state_span_current", "ticket_id", unique=True,
              postgresql_where=text("left_at IS NULL"), sqlite_where=text("left_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    state: Mapped[str] = mapped_column(String(12))
    entered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    seconds: Mapped[int | None] = mapped_column(Integer)  # left_at - entered_at, once left

    ticket: Mapped[Ticket] = relationship(back_populates="spans")


class TicketPhoto(db.Model):
    """A photo of the fault or the repair, in object storage (presigned upload as for installation evidence)."""

    __tablename__ = "ticket_photo"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    object_key: Mapped[str] = mapped_column(String(300), unique=True)
    content_type: Mapped[str] = mapped_column(String(50))
    size_bytes: Mapped[int] = mapped_column(Integer)
    captured_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    ticket: Mapped[Ticket] = relationship(back_populates="photos")


class TicketCost(db.Model):
    """A cost line of a ticket (labour, parts, travel); its ledger entry is written in the same transaction."""

    __tablename__ = "ticket_cost"
    __table_args__ = (
        CheckConstraint(_in("category", COST_CATEGORIES), name="category_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id"), index=True)
    category: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money())
    description: Mapped[str | None] = mapped_column(Text)
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    ticket: Mapped[Ticket] = relationship(back_populates="costs")


class RoadCheckImport(db.Model):
    """One upload of the transport bureau's road-check findings (all rows valid, or nothing stored)."""

    __tablename__ = "road_check_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    tickets: Mapped[int] = mapped_column(Integer, default=0)  # tickets opened or updated
    work_orders: Mapped[int] = mapped_column(Integer, default=0)
    recorded: Mapped[int] = mapped_column(Integer, default=0)
    unknown_plates: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    findings: Mapped[list["RoadCheckFinding"]] = relationship(back_populates="road_check_import",
                                                              order_by="RoadCheckFinding.row_no")


class RoadCheckFinding(db.Model):
    """One row of a road-check import and what became of it (a ticket, a work order, a record, an unknown plate)."""

    __tablename__ = "road_check_finding"
    __table_args__ = (
        UniqueConstraint("import_id", "row_no", name="uq_road_check_finding_import_row"),
        CheckConstraint(_in("finding", FINDINGS), name="finding_known"),
        CheckConstraint(_in("outcome", FINDING_OUTCOMES), name="outcome_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("road_check_import.id"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    checked_on: Mapped[dt.date] = mapped_column(Date)
    plate: Mapped[str] = mapped_column(String(16), index=True)
    location: Mapped[str | None] = mapped_column(String(200))
    finding: Mapped[str] = mapped_column(String(20))
    truck_id: Mapped[int | None] = mapped_column(ForeignKey("truck.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(15))
    reason: Mapped[str | None] = mapped_column(Text)  # why no work order (the eligibility reason codes), or a note
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id"))
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id"))
    followed_up: Mapped[bool] = mapped_column(Boolean, default=False)

    road_check_import: Mapped[RoadCheckImport] = relationship(back_populates="findings")
