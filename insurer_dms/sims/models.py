"""SIM cards and their assignment to devices (history kept)."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..types import Money, UTCDateTime, utcnow

CARRIERS = ("china_mobile", "china_unicom", "china_telecom")
SIM_STATES = ("in_stock", "active", "suspended", "retired")
# A statement counts (its month's bill) while queued, running, done or failed; a newer version makes it superseded. A
# version much smaller than the one it would supersede is held (needs_confirmation) until operations confirm it (it
# then counts: queued) or reject it (rejected: it never counts). See sims/statements.py.
STATEMENT_STATES = ("queued", "running", "done", "failed", "superseded", "needs_confirmation", "rejected")
COUNTING_STATES = ("queued", "running", "done", "failed")
HELD_STATES = ("needs_confirmation", "rejected")  # never reconciled, booked nor superseding anything


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class DataPlan(db.Model):
    """A carrier's monthly data plan: fee, allowance, and the price of each started MB beyond it."""

    __tablename__ = "data_plan"
    __table_args__ = (
        UniqueConstraint("carrier", "code", name="uq_data_plan_carrier_code"),
        CheckConstraint(_in("carrier", CARRIERS), name="carrier_known"),
        CheckConstraint("monthly_fee >= 0", name="fee_non_negative"),
        CheckConstraint("allowance_mb >= 0", name="allowance_non_negative"),
        CheckConstraint("overage_per_mb >= 0", name="overage_non_negative"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    monthly_fee: Mapped[Decimal] = mapped_column(Money())
    allowance_mb: Mapped[int] = mapped_column(Integer)
    overage_per_mb: Mapped[Decimal] = mapped_column(Money())
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


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
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("data_plan.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="in_stock", index=True)
    activated_on: Mapped[dt.date | None] = mapped_column(Date)
    deactivated_on: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan: Mapped[DataPlan | None] = relationship()
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


class Statement(db.Model):
    """One version of a carrier's bill for one month; a newer version for the same month supersedes it."""

    __tablename__ = "statement"
    __table_args__ = (
        UniqueConstraint("carrier", "period", "version", name="uq_statement_carrier_period_version"),
        CheckConstraint(_in("carrier", CARRIERS), name="carrier_known"),
        CheckConstraint(_in("status", STATEMENT_STATES), name="status_known"),
        CheckConstraint("length(period) = 7", name="period_is_month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    version: Mapped[int] = mapped_column(Integer, default=1)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    object_key: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    superseded_by_id: Mapped[int | None] = mapped_column(ForeignKey("statement.id"))
    line_count: Mapped[int] = mapped_column(Integer, default=0)
    billed_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    expected_total: Mapped[Decimal | None] = mapped_column(Money())
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent, for the statement page
    job_id: Mapped[str | None] = mapped_column(String(60))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    booked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # when its lines went to the ledger (once)


class StatementLine(db.Model):
    """One billed line exactly as the carrier sent it (row number kept for the discrepancy export).

    Written only by ``statements.ingest_statement``, by COPY in the transaction that creates its statement, and never
    changed or deleted (statements are kept as history). So ``statement_id`` carries no foreign key: PostgreSQL would
    check it once per line (about 5 s of a million-line upload) for a row the same transaction has just written.
    Besides the primary key, one index finds a statement's lines: a block-range (BRIN) index of ``statement_id`` on
    PostgreSQL, as a statement's lines are written together, one after the other (a unique B-tree of (statement_id,
    row_no) cost a million-line upload more time than the rest of its COPY; the upload numbers the rows itself, once).
    The reconciliation matches ICCIDs with a hash join and lists sort by row, so no other index is needed.
    ``first_row`` is noted at upload, while the rows stream past (the carrier repeating an ICCID is a
    ``duplicate_line``): the reconciliation then needs no pass grouping a million ICCIDs.
    """

    __tablename__ = "statement_line"
    __table_args__ = (
        Index("ix_statement_line_statement_id", "statement_id", postgresql_using="brin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(Integer)  # statement.id (no foreign key: see above)
    row_no: Mapped[int] = mapped_column(Integer)
    iccid: Mapped[str] = mapped_column(String(20))
    msisdn: Mapped[str | None] = mapped_column(String(13))
    data_kb: Mapped[int] = mapped_column(BigInteger)
    sms_count: Mapped[int] = mapped_column(Integer)
    plan_fee: Mapped[Decimal] = mapped_column(Money())
    overage_fee: Mapped[Decimal] = mapped_column(Money())
    total_fee: Mapped[Decimal] = mapped_column(Money())
    first_row: Mapped[int | None] = mapped_column(Integer)  # an earlier row_no with the same ICCID (else None)


OUTCOMES = ("matched", "overbilled", "underbilled", "unknown_sim", "inactive_billed", "missing", "duplicate_line",
            "line_inconsistent")


class ReconciliationResult(db.Model):
    """The outcome of one statement line, or of one of our SIMs missing from the statement.

    Derived data: ``sims.reconciliation`` deletes and rewrites a statement's results in one set-based statement, from
    rows read in the same transaction (the statement's lines, our SIMs, their devices' trucks), and nothing else
    writes them. Hence no foreign keys (checking four per row cost about 10 s for a million lines) and no index but
    (statement_id, outcome): every query selects one statement's results.
    """

    __tablename__ = "reconciliation_result"
    __table_args__ = (
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome_known"),
        Index("ix_reconciliation_result_statement_outcome", "statement_id", "outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(Integer)  # statement.id
    line_id: Mapped[int | None] = mapped_column(Integer)  # statement_line.id; None for `missing`
    sim_id: Mapped[int | None] = mapped_column(Integer)  # sim.id; None for `unknown_sim`
    iccid: Mapped[str] = mapped_column(String(20))
    truck_id: Mapped[int | None] = mapped_column(Integer)  # truck.id: the device's truck on the last active day
    outcome: Mapped[str] = mapped_column(String(20))
    billed: Mapped[Decimal | None] = mapped_column(Money())
    expected: Mapped[Decimal | None] = mapped_column(Money())
    difference: Mapped[Decimal | None] = mapped_column(Money())  # billed - expected
    zero_usage_installed: Mapped[bool] = mapped_column(default=False)
    over_allowance: Mapped[bool] = mapped_column(default=False)
