"""The audit runs list: its sortable columns and its "Export Excel" (one definition, for the page and the API). The
query is the user's: operations see every run, a reviewer (on the API) the published ones."""
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..labels import audit_status_labels, cell
from ..paging import Column, ListSpec
from . import service
from .models import AuditRun

AUDITS = ListSpec(
    "audits", lambda status=None: service.visible_audits(current_user, status), AuditRun.id,
    {"id": AuditRun.id, "period_from": AuditRun.period_from, "period_to": AuditRun.period_to, "version": AuditRun.version,
     "status": AuditRun.status, "renewals_audited": AuditRun.renewals_audited, "findings_count": AuditRun.findings_count,
     "excess_total": AuditRun.excess_total, "created_at": AuditRun.created_at, "published_at": AuditRun.published_at},
    [
        Column(_l("Audit"), lambda a: a.id),
        Column(_l("Period from"), lambda a: a.period_from),
        Column(_l("Period to"), lambda a: a.period_to),
        Column(_l("Counties"), lambda a: ", ".join(str(cell("county", c)) for c in a.counties) if a.counties else None),
        Column(_l("Version"), lambda a: a.version),
        Column(_l("Status"), lambda a: a.status, labels=audit_status_labels),
        Column(_l("Renewals audited"), lambda a: a.renewals_audited),
        Column(_l("Findings"), lambda a: a.findings_count),
        Column(_l("Excess premium (CNY)"), lambda a: a.excess_total),
        Column(_l("Created on"), lambda a: a.created_at),
        Column(_l("Published"), lambda a: a.published_at),
    ],
    _l("Audits"),
)
