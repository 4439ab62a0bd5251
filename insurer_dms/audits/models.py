"""No-premium-increase audits: runs (versions), their findings, frozen report files, and reviewers' queries."""
import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..types import Money, UTCDateTime, utcnow

AUDIT_STATES = ("queued", "running", "draft", "published", "failed")
FILE_FORMATS = ("csv", "xlsx", "pdf", "pdf_en")  # pdf: Chinese; pdf_en: English
FINDING_REASONS = ("autonomous_rose", "residual_over_tolerance")
QUERY_STATES = ("open", "answered", "accepted", "upheld")  # accepted = explained; upheld = a violation
OPEN_QUERY_STATES = ("open", "answered")


def _in(column, values):
    return f"{column} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


class AuditRun(db.Model):
    """One version of an audit of a period (and optionally some counties).

    ``scope`` names what is audited ("2026-07-01..2026-09-30" plus the sorted county codes); running the same
    scope again makes version n + 1. Once ``published`` a run and everything under it never changes: the ORM
    refuses it and, on PostgreSQL, triggers do (migration 0004).
    """

    __tablename__ = "audit_run"
    __table_args__ = (
        UniqueConstraint("scope", "version", name="uq_audit_run_scope_version"),
        CheckConstraint(_in("status", AUDIT_STATES), name="status_known"),
        CheckConstraint("period_to >= period_from", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    period_from: Mapped[dt.date] = mapped_column(Date)
    period_to: Mapped[dt.date] = mapped_column(Date)
    counties: Mapped[list | None] = mapped_column(JSON)  # county codes; None = every county
    tolerance: Mapped[Decimal] = mapped_column(Money())  # AUDIT_RESIDUAL_TOLERANCE when the run was made
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    job_id: Mapped[str | None] = mapped_column(String(60))
    error: Mapped[str | None] = mapped_column(Text)
    renewals_audited: Mapped[int] = mapped_column(Integer, default=0)
    findings_count: Mapped[int] = mapped_column(Integer, default=0)
    excess_total: Mapped[Decimal] = mapped_column(Money(), default=Decimal("0.00"))
    summary: Mapped[dict | None] = mapped_column(JSON)  # per county, per product, the cohort comparison
    inputs_sha256: Mapped[str | None] = mapped_column(String(64))  # hash of the policy and installation inputs
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    findings: Mapped[list["AuditFinding"]] = relationship(back_populates="audit", order_by="AuditFinding.id")
    files: Mapped[list["AuditFile"]] = relationship(back_populates="audit", order_by="AuditFile.format")


class AuditFile(db.Model):
    """A published report rendered to one format, stored in object storage, with its SHA-256."""

    __tablename__ = "audit_file"
    __table_args__ = (
        UniqueConstraint("audit_id", "format", name="uq_audit_file_audit_format"),
        CheckConstraint(_in("format", FILE_FORMATS), name="format_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit_run.id"))
    format: Mapped[str] = mapped_column(String(10))
    object_key: Mapped[str] = mapped_column(String(300), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    audit: Mapped[AuditRun] = relationship(back_populates="files")


class AuditFinding(db.Model):
    """A renewal after installation whose autonomous coefficient rose or whose unexplained residual is too large.

    The change (premium - previous_premium) = benchmark_part + ncd_part + violation_part + autonomous_part +
    residual, exactly (the decomposition is documented in the README and lives in audits.decomposition).
    """

    __tablename__ = "audit_finding"
    __table_args__ = (UniqueConstraint("audit_id", "policy_id", name="uq_audit_finding_audit_policy"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audit_run.id"), index=True)
    truck_id: Mapped[int] = mapped_column(ForeignKey("truck.id"), index=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id"))
    previous_policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id"))
    operator_id: Mapped[int] = mapped_column(ForeignKey("operator.id"))
    county_code: Mapped[str] = mapped_column(String(6))
    product: Mapped[str] = mapped_column(String(20))  # the policy kind
    renewal_start: Mapped[dt.date] = mapped_column(Date)
    installed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    previous_premium: Mapped[Decimal] = mapped_column(Money())
    premium: Mapped[Decimal] = mapped_column(Money())
    change: Mapped[Decimal] = mapped_column(Money())
    benchmark_part: Mapped[Decimal] = mapped_column(Money())
    ncd_part: Mapped[Decimal] = mapped_column(Money())
    violation_part: Mapped[Decimal] = mapped_column(Money())
    autonomous_part: Mapped[Decimal] = mapped_column(Money())
    residual: Mapped[Decimal] = mapped_column(Money())
    excess_premium: Mapped[Decimal] = mapped_column(Money())  # attributable to the autonomous rise and the residual
    reasons: Mapped[list] = mapped_column(JSON)  # FINDING_REASONS that apply

    audit: Mapped[AuditRun] = relationship(back_populates="findings")
    policy = relationship("Policy", foreign_keys=[policy_id])
    previous_policy = relationship("Policy", foreign_keys=[previous_policy_id])
    truck = relationship("Truck")
    queries: Mapped[list["FindingQuery"]] = relationship(back_populates="finding", order_by="FindingQuery.id")


_OPEN_QUERY = text(_in("state", OPEN_QUERY_STATES))


class FindingQuery(db.Model):
    """A reviewer's question on a published finding, operations' answer (and attachment), the reviewer's verdict.

    An upheld query records the refund owed to the operator as a ``premium_refund`` ledger entry.
    """

    __tablename__ = "finding_query"
    __table_args__ = (
        CheckConstraint(_in("state", QUERY_STATES), name="state_known"),
        Index("uq_finding_query_open", "finding_id", unique=True, postgresql_where=_OPEN_QUERY, sqlite_where=_OPEN_QUERY),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("audit_finding.id"), index=True)
    state: Mapped[str] = mapped_column(String(10), default="open", index=True)
    question: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    attachment_key: Mapped[str | None] = mapped_column(String(300))
    attachment_name: Mapped[str | None] = mapped_column(String(255))
    attachment_content_type: Mapped[str | None] = mapped_column(String(100))
    attachment_size: Mapped[int | None] = mapped_column(Integer)
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    closing_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    refund_amount: Mapped[Decimal | None] = mapped_column(Money())
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))

    finding: Mapped[AuditFinding] = relationship(back_populates="queries")
