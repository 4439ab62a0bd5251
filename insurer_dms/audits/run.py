"""Running one audit version: renewals, findings, the summary; ``queued``/``running`` -> ``draft`` (or ``failed``).

The whole computation is one transaction: the run's findings are inserted in one statement, its counts and
summary set, and its status becomes ``draft``. Run twice (RQ delivers at least once), a finished run is left as
it is and an interrupted one is computed again from scratch. A failure rolls back and is recorded on the run
(status ``failed`` and the reason) in a transaction of its own.
"""
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from sqlalchemy import delete, insert

from .. import activity
from ..extensions import db
from ..types import utcnow
from . import frozen  # noqa: F401  (registers the ORM guard on published runs)
from .decomposition import assess
from .models import AuditFinding, AuditRun
from .renewals import inputs_sha256, renewals

COEFFICIENT = Decimal("0.0001")
FINISHED = ("draft", "published")


def scope_of(audit):
    """What a run audits, as recorded in its inputs: period, counties (None: all) and the residual tolerance."""
    return {"period_from": audit.period_from.isoformat(), "period_to": audit.period_to.isoformat(),
            "counties": sorted(audit.counties) if audit.counties else None, "tolerance": f"{audit.tolerance:.2f}"}


def used_renewals(audit):
    """The renewals a run uses: its population (with a device) and its comparison cohort."""
    return [r for r in renewals(audit.period_from, audit.period_to, audit.counties) if r.with_device or r.in_cohort]


def run_audit(audit_id):
    """Compute one run (the job's body); returns its id and status, or None when the run does not exist."""
    audit = db.session.get(AuditRun, audit_id)
    if audit is None:
        current_app.logger.warning("audit %s no longer exists; nothing to run", audit_id)
        return None
    if audit.status in FINISHED:  # delivered twice: the first run's result stands
        return {"audit_id": audit.id, "status": audit.status}
    before = audit.status
    audit.status, audit.progress, audit.error = "running", 0, None
    db.session.commit()
    try:
        _compute(audit)
        activity.record(f"state:{before}->draft", audit, before={"status": before},
                        after={"status": "draft", "renewals_audited": audit.renewals_audited,
                               "findings_count": audit.findings_count, "excess_total": audit.excess_total})
        db.session.commit()
    except Exception as err:  # recorded on the run for the pages and the API, never lost
        db.session.rollback()
        current_app.logger.exception("audit %s failed", audit_id)
        _record_failure(audit_id, err)
    audit = db.session.get(AuditRun, audit_id)
    return {"audit_id": audit.id, "status": audit.status}


def _record_failure(audit_id, err):
    audit = db.session.get(AuditRun, audit_id)
    before = audit.status
    audit.status, audit.error, audit.finished_at = "failed", f"{type(err).__name__}: {err}"[:1000], utcnow()
    activity.record(f"state:{before}->failed", audit, before={"status": before}, after={"status": "failed"},
                    note=audit.error)
    db.session.commit()


def _compute(audit):
    used = used_renewals(audit)
    population = [r for r in used if r.with_device]
    cohort = [r for r in used if not r.with_device]
    tolerance = Decimal(audit.tolerance)
    rows = []
    for renewal in population:
        verdict = assess(renewal.previous.pricing, renewal.policy.pricing, tolerance)
        if verdict.is_finding:
            rows.append(_finding_row(audit.id, renewal, verdict))
    db.session.execute(delete(AuditFinding).where(AuditFinding.audit_id == audit.id))  # an interrupted run's leftovers
    if rows:
        db.session.execute(insert(AuditFinding), rows)
    excess_total = sum((row["excess_premium"] for row in rows), Decimal("0.00"))
    audit.renewals_audited, audit.findings_count, audit.excess_total = len(population), len(rows), excess_total
    audit.summary = summarise(audit, population, cohort, rows)
    audit.inputs_sha256 = inputs_sha256(scope_of(audit), used)
    audit.status, audit.progress, audit.finished_at = "draft", 100, utcnow()


def _finding_row(audit_id, renewal, verdict):
    parts = verdict.decomposition
    return {
        "audit_id": audit_id, "truck_id": renewal.truck_id, "policy_id": renewal.policy.id,
        "previous_policy_id": renewal.previous.id, "operator_id": renewal.operator_id,
        "county_code": renewal.county_code, "product": renewal.product, "renewal_start": renewal.policy.start_date,
        "installed_at": renewal.first_installed_at, "previous_premium": renewal.previous.pricing.premium,
        "premium": renewal.policy.pricing.premium, "change": parts.change, "benchmark_part": parts.benchmark_part,
        "ncd_part": parts.ncd_part, "violation_part": parts.violation_part, "autonomous_part": parts.autonomous_part,
        "residual": parts.residual, "excess_premium": verdict.excess_premium, "reasons": list(verdict.reasons),
    }


# ---------------------------------------------------------------- the summary


def _mean_change(renewals):
    """Mean of A1 - A0 over ``renewals``, half-up to 4 decimals; None when there are none."""
    if not renewals:
        return None
    total = sum((r.policy.pricing.autonomous - r.previous.pricing.autonomous for r in renewals), Decimal(0))
    return (total / len(renewals)).quantize(COEFFICIENT, rounding=ROUND_HALF_UP)


def _group(renewals, rows, key, finding_key, keys=()):
    table = {k: {"renewals": 0, "findings": 0, "excess": Decimal("0.00")} for k in keys}
    for renewal in renewals:
        table.setdefault(key(renewal), {"renewals": 0, "findings": 0, "excess": Decimal("0.00")})["renewals"] += 1
    for row in rows:
        entry = table[row[finding_key]]
        entry["findings"] += 1
        entry["excess"] += row["excess_premium"]
    return [{"code": k, "renewals": v["renewals"], "findings": v["findings"], "excess": f"{v['excess']:.2f}"}
            for k, v in sorted(table.items())]


def _cohort_side(renewals):
    rose = sum(1 for r in renewals if r.policy.pricing.autonomous > r.previous.pricing.autonomous)
    mean = _mean_change(renewals)
    return {"renewals": len(renewals), "autonomous_rose": rose, "mean_autonomous_change": None if mean is None else f"{mean:.4f}"}


def summarise(audit, population, cohort, rows):
    """The report's figures, as JSON-ready data (amounts and coefficients as strings)."""
    with_device, without = _mean_change(population), _mean_change(cohort)
    reasons = defaultdict(int)
    for row in rows:
        for reason in row["reasons"]:
            reasons[reason] += 1
    return {
        "renewals_audited": len(population),
        "findings": len(rows),
        "excess_total": f"{sum((r['excess_premium'] for r in rows), Decimal('0.00')):.2f}",
        "by_reason": {"autonomous_rose": reasons["autonomous_rose"], "residual_over_tolerance": reasons["residual_over_tolerance"]},
        "by_county": _group(population, rows, lambda r: r.county_code, "county_code", audit.counties or ()),
        "by_product": _group(population, rows, lambda r: r.product, "product"),
        "cohort": {
            "with_device": _cohort_side(population),
            "without_device": _cohort_side(cohort),
            # with minus without: how much more the autonomous coefficient rose on trucks with a device
            "difference": None if with_device is None or without is None else f"{with_device - without:.4f}",
        },
    }
