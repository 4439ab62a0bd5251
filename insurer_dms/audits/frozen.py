"""The ORM's guard on published audits: a published run, its findings and its files never change.

On PostgreSQL triggers (migration 0004) refuse the same at the database; this guard also covers SQLite and
answers with a Conflict (409) before anything reaches the database. It checks the status stored in the
database, so the publishing flush itself (files inserted while the run is still a draft, then the status
flipped) passes.
"""
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ..errors import Conflict
from .models import AuditFile, AuditFinding, AuditRun


class FrozenAudit(Conflict):
    """A change to a published audit run, or to a finding or file under it."""


def _changed(session, obj):
    return obj in session.new or obj in session.deleted or session.is_modified(obj)


@event.listens_for(Session, "before_flush")
def _published_audits_are_frozen(session, flush_context, instances):
    run_ids = set()
    with session.no_autoflush:
        for obj in list(session.new) + list(session.dirty) + list(session.deleted):
            if isinstance(obj, AuditRun) and obj not in session.new and _changed(session, obj):
                run_ids.add(obj.id)
            elif isinstance(obj, (AuditFinding, AuditFile)) and _changed(session, obj):
                run_ids.add(obj.audit_id if obj.audit_id is not None else getattr(obj.audit, "id", None))
        run_ids.discard(None)
        if not run_ids:
            return
        published = session.scalars(
            select(AuditRun.id).where(AuditRun.id.in_(run_ids), AuditRun.status == "published")
        ).all()
    if published:
        raise FrozenAudit(_l("Audit %(id)s is published; it and its findings and files cannot change.", id=min(published)))
