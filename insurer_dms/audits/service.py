"""No-premium-increase audits: who sees which run, creating and re-running runs, findings, publishing.

Operations staff see every run; reviewers (the regulator) see published runs only, and a draft's id answers them
404 as if it did not exist. The computation itself is in ``audits.run``; the report files in ``audits.report``.
"""
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, select, update
from sqlalchemy.orm import joinedload

from .. import activity
from ..auth.access import OPS, REVIEWER
from ..downloads import XLSX, file_response
from ..errors import Conflict, NotFound, invalid
from ..extensions import db
from ..labels import named
from ..paging import paginate
from ..queue import enqueue
from ..storage import sha256, storage
from ..transactions import commit_or_conflict, race_guard
from ..types import utcnow
from . import frozen  # noqa: F401  (registers the ORM guard on published runs)
from .decomposition import policy_figures
from .models import AuditFile, AuditFinding, AuditRun
from .renewals import inputs_sha256
from .report_pdf import cjk_font, rendered_pdfs


def _role(user):
    return user.role.value if user is not None and getattr(user, "role", None) is not None else None


def visible_audits(user, status=None):
    """The runs ``user`` may see, newest first: ops all, a reviewer the published ones, anyone else none."""
    stmt = select(AuditRun).order_by(AuditRun.created_at.desc(), AuditRun.id.desc())
    role = _role(user)
    if role == REVIEWER:
        stmt = stmt.where(AuditRun.status == "published")
    elif role != OPS:
        stmt = stmt.where(false())
    if status:
        stmt = stmt.where(AuditRun.status == status)
    return stmt


def get_audit(audit_id, lock=False):
    stmt = select(AuditRun).where(AuditRun.id == audit_id)
    if lock:
        stmt = stmt.with_for_update()
    audit = db.session.scalar(stmt)
    if audit is None:
        raise NotFound(_l("No audit %(id)s.", id=audit_id))
    return audit


def get_audit_for(user, audit_id):
    """The run if ``user`` may see it; a draft (or any unpublished run) is not found for a reviewer."""
    audit = get_audit(audit_id)
    role = _role(user)
    if role == OPS or (role == REVIEWER and audit.status == "published"):
        return audit
    raise NotFound(_l("No audit %(id)s.", id=audit_id))


def get_finding_for(user, audit_id, finding_id):
    """A finding of a run ``user`` may see (with its truck and both policies loaded), else not found."""
    audit = get_audit_for(user, audit_id)
    finding = db.session.scalar(
        select(AuditFinding)
        .options(joinedload(AuditFinding.truck), joinedload(AuditFinding.policy), joinedload(AuditFinding.previous_policy))
        .where(AuditFinding.id == finding_id, AuditFinding.audit_id == audit.id)
    )
    if finding is None:
        raise NotFound(_l("No finding %(finding)s in audit %(audit)s.", finding=finding_id, audit=audit_id))
    return finding


def truck_in_published_finding(truck_id):
    """True when the truck is in a finding of a published run: the one case a reviewer may see its evidence photos."""
    return db.session.scalar(
        select(AuditFinding.id).join(AuditRun, AuditRun.id == AuditFinding.audit_id)
        .where(AuditFinding.truck_id == truck_id, AuditRun.status == "published").limit(1)
    ) is not None


def versions_of(audit):
    """Every run of the same scope (period and counties), version 1 first."""
    return db.session.scalars(select(AuditRun).where(AuditRun.scope == audit.scope).order_by(AuditRun.version)).all()


# ---------------------------------------------------------------- creating and re-running


RUN_JOB = "jobs.audits.run_audit"


def scope_name(period_from, period_to, counties=None):
    """``2026-07-01..2026-09-30`` plus the sorted county codes: runs of one scope are versions 1, 2, 3..."""
    name = f"{period_from.isoformat()}..{period_to.isoformat()}"
    return f"{name} {','.join(counties)}" if counties else name


def create_audit(period_from, period_to, counties=None, user_id=None):
    """A new run (the next version of its scope), queued and handed to the job; returns it."""
    if period_to < period_from:
        raise invalid("period_to", _l("The period must end on or after its first day."))
    counties = sorted(set(counties)) if counties else None
    scope = scope_name(period_from, period_to, counties)
    versions = db.session.scalars(select(AuditRun.version).where(AuditRun.scope == scope).with_for_update()).all()
    audit = AuditRun(scope=scope, version=max(versions, default=0) + 1, period_from=period_from, period_to=period_to,
                     counties=counties, tolerance=Decimal(current_app.config["AUDIT_RESIDUAL_TOLERANCE"]),
                     status="queued", progress=0, created_by_id=user_id)
    db.session.add(audit)
    # a first version: no row to lock
    with race_guard(_l("Another run of %(scope)s was created at the same moment; try again.", scope=scope)):
        activity.record("create", audit)
        db.session.commit()
    enqueue_run(audit.id)
    return get_audit(audit.id)


def rerun(audit_id, user_id=None):
    """Run an audit's scope again: a new version, whatever the state of this one (a published one stays)."""
    source = get_audit(audit_id)
    return create_audit(source.period_from, source.period_to, source.counties, user_id)


def _redis_errors():
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return RedisConnectionError, RedisTimeoutError


def enqueue_run(audit_id):
    """Hand a queued run to the job (inline without Redis). Redis down: the run fails with that reason."""
    if not current_app.config.get("REDIS_URL"):
        try:
            enqueue(RUN_JOB, audit_id)  # inline: the job records its own failures
        except Exception:  # the stored run stands; anything else is logged
            db.session.rollback()
            current_app.logger.exception("inline run of audit %s failed", audit_id)
        return
    try:
        job = enqueue(RUN_JOB, audit_id, description=f"no-premium-increase audit {audit_id}")
    except _redis_errors() as err:
        db.session.rollback()
        audit = get_audit(audit_id)
        audit.status, audit.finished_at = "failed", utcnow()
        audit.error = f"The job queue (Redis) did not answer; run the audit again later. {err}"[:1000]
        activity.record("state:queued->failed", audit, before={"status": "queued"}, after={"status": "failed"}, note=audit.error)
        db.session.commit()
        return
    # Only the job id: the worker may already be updating the run.
    db.session.execute(update(AuditRun).where(AuditRun.id == audit_id).values(job_id=job.id))
    db.session.commit()


# ---------------------------------------------------------------- findings


def findings_query(audit_id, county_code=None, product=None):
    """A run's findings, largest excess first, with their trucks and both policies loaded."""
    stmt = (
        select(AuditFinding)
        .options(joinedload(AuditFinding.truck), joinedload(AuditFinding.policy), joinedload(AuditFinding.previous_policy))
        .where(AuditFinding.audit_id == audit_id)
        .order_by(AuditFinding.excess_premium.desc(), AuditFinding.id)
    )
    if county_code:
        stmt = stmt.where(AuditFinding.county_code == county_code)
    if product:
        stmt = stmt.where(AuditFinding.product == product)
    return stmt


def finding_item(finding):
    """One finding as data: its figures, plate and both policies' numbers."""
    values = {c.key: getattr(finding, c.key) for c in AuditFinding.__table__.columns}
    values.update(plate=finding.truck.plate, policy_number=finding.policy.number,
                  previous_policy_number=finding.previous_policy.number)
    return values


def findings_page(user, audit_id, county_code=None, product=None, page=1, page_size=50):
    """One page of a visible run's findings as the list envelope."""
    audit = get_audit_for(user, audit_id)
    result = paginate(findings_query(audit.id, county_code, product), page, page_size)
    result["items"] = [finding_item(f) for f in result["items"]]
    return result


def finding_detail(finding):
    """A finding with the figures of the two policies behind it (as stored now).

    ``changed_since_audit`` is true when either policy's premium is no longer the one the run audited (a policy
    corrected later); the published files keep the figures as they were.
    """
    detail = finding_item(finding)
    detail.update(policy=policy_figures(finding.policy), previous_policy=policy_figures(finding.previous_policy),
                  changed_since_audit=(finding.policy.premium != finding.premium
                                       or finding.previous_policy.premium != finding.previous_premium))
    return detail


# ---------------------------------------------------------------- publishing and the files


CONTENT_TYPES = {"csv": "text/csv", "xlsx": XLSX, "pdf": "application/pdf", "pdf_en": "application/pdf"}
SUFFIXES = {"pdf_en": "en.pdf"}  # a file format's file name ending, when it is not the format itself


def file_suffix(file_format):
    """``pdf`` (the Chinese PDF), ``en.pdf`` (the English one), ``csv``, ``xlsx``."""
    return SUFFIXES.get(file_format, file_format)


def object_key(audit, file_format):
    return f"audits/{audit.id}/report-v{audit.version}.{file_suffix(file_format)}"


def publish(audit_id, user_id=None):
    """Freeze a draft: check its inputs are unchanged, render CSV, XLSX and the PDF in Chinese and in English, store
    them, then ``published``.

    One transaction, in the order the database's triggers need: the file rows go in while the run is still a
    draft, and the status flips last. Refused (409) unless the run is a draft, when the policies or installations
    behind it changed since it ran (its inputs' SHA-256 differs: run it again and publish that), or when there is no
    CJK font to write the PDFs with (``report_pdf.FontUnavailable``): nothing is stored and the run stays a draft.
    """
    from . import report
    from .run import scope_of, used_renewals

    audit = get_audit(audit_id, lock=True)
    if audit.status == "published":
        raise Conflict(_l("Audit %(id)s is already published; run it again for a new version.", id=audit_id),
                       {"status": [audit.status]})
    if audit.status != "draft":
        raise Conflict(_l("Audit %(id)s is %(status)s; only a draft can be published.", id=audit_id,
                          status=named("audit_status", audit.status)), {"status": [audit.status]})
    if inputs_sha256(scope_of(audit), used_renewals(audit)) != audit.inputs_sha256:
        message = _l("The policies or installations behind this draft changed since it ran; run it again and publish the new "
                     "version.")
        raise Conflict(message, {"inputs_sha256": [message]})
    cjk_font()  # before anything changes: without the font nothing is published
    audit.published_at, audit.published_by_id = utcnow(), user_id
    content = report.content(audit, db.session.scalars(findings_query(audit.id)).all())
    rendered = {"csv": report.render_csv(content), "xlsx": report.render_xlsx(content), **rendered_pdfs(content)}
    for file_format, data in rendered.items():
        key = object_key(audit, file_format)
        storage().put(key, data, CONTENT_TYPES[file_format])
        db.session.add(AuditFile(audit_id=audit.id, format=file_format, object_key=key, sha256=sha256(data),
                                 size_bytes=len(data)))
    db.session.flush()  # the files first: once the run is published the database refuses them
    audit.status = "published"
    activity.record("publish", audit, before={"status": "draft"},
                    after={"status": "published", "inputs_sha256": audit.inputs_sha256,
                           "files": {f.format: f.sha256 for f in audit.files}})
    commit_or_conflict(_l("Audit %(id)s changed at the same moment; reload it.", id=audit_id))
    return get_audit(audit_id)


def report_file(user, audit_id, file_format):
    """(bytes, AuditFile) of a published run's report in ``file_format``; checked against its SHA-256."""
    audit = get_audit_for(user, audit_id)
    stored = next((f for f in audit.files if f.format == file_format), None)
    if stored is None:
        raise NotFound(_l("Audit %(id)s has no %(format)s report (only published runs have files).", id=audit_id, format=file_format))
    data = storage().get(stored.object_key)
    if sha256(data) != stored.sha256:
        current_app.logger.error("audit %s: stored %s does not match its SHA-256", audit_id, stored.object_key)
        raise Conflict(_l("The stored %(format)s report of audit %(id)s does not match its SHA-256; it is not served.",
                          format=file_format, id=audit_id))
    return data, stored


SHA_HEADER = "X-Content-SHA256"


def download(user, audit_id, file_format):
    """The HTTP response with a published run's file; its SHA-256 in the X-Content-SHA256 header and the ETag."""
    data, stored = report_file(user, audit_id, file_format)
    audit = stored.audit
    response = file_response(data, f"no-premium-increase-audit-{audit.id}-v{audit.version}.{file_suffix(file_format)}",
                             CONTENT_TYPES[file_format])
    response.headers[SHA_HEADER] = stored.sha256
    response.set_etag(stored.sha256)
    return response
