"""Reviewers' queries on published audit findings: raise, answer (with an attachment), close as accepted or upheld.

The life of a query; any other move is refused with 409:

    open --answer (operations)--> answered --close (reviewer)--> accepted | upheld

A finding has at most one open or answered query at a time (the partial unique index ``uq_finding_query_open``
catches the race), and a finding whose query was upheld takes no new one: its refund is owed once. Upholding
writes that refund as a ``premium_refund`` ledger entry (the finding's truck, the month of closing in
Asia/Shanghai) in the same transaction. Every step is in the activity trail with who and when.
"""
import io
import re
import uuid
import zipfile
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from .. import activity
from ..auth.access import OPS
from ..downloads import XLSX
from ..errors import Conflict, Invalid, NotFound, invalid
from ..extensions import db
from ..labels import named
from ..ledger import service as ledger
from ..storage import sha256, storage
from ..transactions import commit_or_conflict, race_guard
from ..types import utcnow
from .models import OPEN_QUERY_STATES, AuditFinding, AuditRun, FindingQuery
from .service import get_finding_for

LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # the ledger month of a refund is the local month of closing
TRANSITIONS = {"open": ("answered",), "answered": ("accepted", "upheld"), "accepted": (), "upheld": ()}
VERDICTS = ("accepted", "upheld")
TEXT_MAX = 5000  # characters of a question, an answer or a closing note
REFUND_MAX = Decimal("9999999999.99")  # what a Money column holds
# The attachment's real type (by its bytes) and the extension its download carries.
ATTACHMENT_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", XLSX: "xlsx"}
EXTENSIONS = {"pdf": ("pdf",), "jpg": ("jpg", "jpeg"), "png": ("png",), "xlsx": ("xlsx",)}


def max_attachment_bytes():
    return current_app.config["QUERY_ATTACHMENT_MAX_BYTES"]


# ---- who sees which query ----------------------------------------------------------------------------------


def queries_query(user, state=None, audit_id=None, finding_id=None):
    """Queries ``user`` may see, newest first: operations all; anyone else only those on published reports."""
    stmt = select(FindingQuery).join(AuditFinding, FindingQuery.finding_id == AuditFinding.id).join(AuditRun, AuditFinding.audit_id == AuditRun.id)
    if user.role.value != OPS:
        stmt = stmt.where(AuditRun.status == "published")
    if state:
        stmt = stmt.where(FindingQuery.state == state)
    if audit_id is not None:
        stmt = stmt.where(AuditFinding.audit_id == audit_id)
    if finding_id is not None:
        stmt = stmt.where(FindingQuery.finding_id == finding_id)
    return stmt.order_by(FindingQuery.id.desc())


def state_counts(user):
    """{state: number of queries} among those ``user`` may see."""
    stmt = queries_query(user).order_by(None).with_only_columns(FindingQuery.state, func.count()).group_by(FindingQuery.state)
    return dict(db.session.execute(stmt).all())


def get_query_for(user, query_id, lock=False):
    """One query if ``user`` may see it, else 404; ``lock`` takes its row lock for a state change."""
    stmt = queries_query(user).where(FindingQuery.id == query_id)
    if lock:
        stmt = stmt.with_for_update(of=FindingQuery).execution_options(populate_existing=True)
    query = db.session.scalar(stmt)
    if query is None:
        raise NotFound(_l("No query %(id)s.", id=query_id))
    return query


def user_email(user_id):
    """The email of the user who took a step (for pages and the API)."""
    from ..auth.models import User

    user = db.session.get(User, user_id) if user_id else None
    return user.email if user else None


def latest_states(finding_ids):
    """{finding id: state of its latest query} for the findings that have one."""
    rows = db.session.execute(
        select(FindingQuery.finding_id, FindingQuery.state).where(FindingQuery.finding_id.in_(list(finding_ids))).order_by(FindingQuery.id)
    ).all()
    return {finding_id: state for finding_id, state in rows}


def _check_move(query, to):
    """Refuse (409) a move the state machine does not allow."""
    if to not in TRANSITIONS[query.state]:
        if query.state in VERDICTS:
            message = _l("Query %(id)s is closed (%(state)s); it cannot be %(to)s now.", id=query.id,
                         state=named("query_state", query.state), to=named("query_state", to))
        elif to in VERDICTS:
            message = _l("Query %(id)s has not been answered yet; it can be closed once operations answer it.", id=query.id)
        else:
            message = _l("Query %(id)s is %(state)s; it cannot be %(to)s now.", id=query.id, state=named("query_state", query.state),
                         to=named("query_state", to))
        raise Conflict(message, {"state": [message]})


def _text(errors, field, value, required=True):
    value = (value or "").strip()
    if required and not value:
        errors[field] = [_l("This field is required.")]
    elif len(value) > TEXT_MAX:
        errors[field] = [_l("At most %(count)s characters.", count=TEXT_MAX)]
    return value or None


# ---- raising -----------------------------------------------------------------------------------------------


def raise_refusal(finding):
    """Why no query may be raised on ``finding`` now (None: it may): unpublished, one pending, or upheld."""
    if finding.audit.status != "published":
        return _l("Queries are raised on published reports only.")
    pending = next((q for q in finding.queries if q.state in OPEN_QUERY_STATES), None)
    if pending is not None:
        return _l("This finding already has query %(id)s (%(state)s); it must be closed before another is raised.", id=pending.id,
                  state=named("query_state", pending.state))
    upheld = next((q for q in finding.queries if q.state == "upheld"), None)
    if upheld is not None:
        return _l("This finding was upheld in query %(id)s; its refund is recorded.", id=upheld.id)
    return None


def raise_query(user, audit_id, finding_id, question):
    """A reviewer's question on a finding of a published report."""
    finding = get_finding_for(user, audit_id, finding_id)  # the audit rules decide who sees which report (drafts: 404)
    refusal = raise_refusal(finding)
    if refusal:
        raise Conflict(refusal, {"finding": [refusal]})
    errors = {}
    question = _text(errors, "question", question)
    if errors:
        raise Invalid(_l("Write the question."), errors)
    query = FindingQuery(finding_id=finding.id, state="open", question=question, raised_at=utcnow(), raised_by_id=user.id)
    db.session.add(query)
    with race_guard():  # two reviewers at the same moment: the partial unique index lets one through, 409 as the check
        db.session.flush()
        activity.record("create", query)
        db.session.commit()
    return query


# ---- answering ---------------------------------------------------------------------------------------------


def attachment_type(data):
    """What the bytes really are (PDF, JPEG, PNG or XLSX), whatever the file is called; None otherwise."""
    if data.startswith(b"%PDF-"):
        return "application/pdf" if b"%%EOF" in data[-1024:] else None  # a truncated PDF does not open
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as book:
                names = set(book.namelist())
        except zipfile.BadZipFile:
            return None
        return XLSX if {"[Content_Types].xml", "xl/workbook.xml"} <= names else None
    from ..installs.evidence import sniff_type  # JPEG and PNG: magic bytes, then Pillow must open it

    return sniff_type(data)


def clean_filename(name, extension):
    """The uploaded file's own name without folders or control characters, ending in the type's extension."""
    name = PurePosixPath((name or "").replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f\x7f\"]", "", name).strip()[:200] or "attachment"
    if name.rsplit(".", 1)[-1].lower() not in EXTENSIONS[extension] or "." not in name:
        name = f"{name}.{extension}"
    return name


def read_attachment(file_storage):
    """(bytes, filename) of an uploaded attachment, None when no file was chosen; reads at most one byte over the limit."""
    if file_storage is None or not file_storage.filename:
        return None
    return file_storage.read(max_attachment_bytes() + 1), file_storage.filename


def _check_attachment(errors, upload):
    if upload is None:
        return None
    data, filename = upload
    limit = max_attachment_bytes()
    if not data or len(data) > limit:
        size = f"{limit // 2**20} MB" if limit % 2**20 == 0 else f"{limit} bytes"
        errors["attachment"] = [_l("An attachment must be between 1 byte and %(size)s.", size=size)]
        return None
    content_type = attachment_type(data)
    if content_type is None:
        errors["attachment"] = [_l("The attachment must be a PDF, JPEG, PNG or XLSX file (checked by its content).")]
        return None
    return data, clean_filename(filename, ATTACHMENT_TYPES[content_type]), content_type


def answer(user, query_id, text, upload=None):
    """Operations' explanation of an open query, with an optional attachment (PDF/JPEG/PNG/XLSX) kept in storage."""
    query = get_query_for(user, query_id, lock=True)
    _check_move(query, "answered")
    errors = {}
    text = _text(errors, "answer", text)
    checked = _check_attachment(errors, upload)
    if errors:
        raise Invalid(_l("The answer cannot be saved."), errors)
    key = None
    values = {"state": "answered", "answer": text, "answered_at": utcnow(), "answered_by_id": user.id}
    if checked is not None:
        data, filename, content_type = checked
        key = f"queries/{query.id}/{uuid.uuid4().hex}.{ATTACHMENT_TYPES[content_type]}"
        storage().put(key, data, content_type)
        values.update(attachment_key=key, attachment_name=filename, attachment_content_type=content_type,
                      attachment_size=len(data), attachment_sha256=sha256(data))
    before, after = activity.changes(query, values)
    activity.record("answer", query, before, after)
    try:
        commit_or_conflict(_l("Another change to this query got there first; reload and try again."), "state")
    except Conflict:
        if key:
            storage().delete(key)  # nothing refers to it
        raise
    return query


def attachment(user, query_id):
    """(bytes, content type, filename, sha256) of a query's attachment; 404 without one, 409 if it was altered."""
    query = get_query_for(user, query_id)
    if not query.attachment_key:
        raise NotFound(_l("Query %(id)s has no attachment.", id=query_id))
    data = storage().get(query.attachment_key)
    if sha256(data) != query.attachment_sha256:
        raise Conflict(_l("The stored attachment of query %(id)s no longer matches its SHA-256.", id=query_id))
    return data, query.attachment_content_type, query.attachment_name, query.attachment_sha256


# ---- closing -----------------------------------------------------------------------------------------------


def _refund(errors, amount):
    if amount is None or amount == "":
        errors["refund_amount"] = [_l("The refund owed to the operator is required when the finding is upheld.")]
        return None
    try:
        amount = Decimal(str(amount))
    except InvalidOperation:
        errors["refund_amount"] = [_l("Not an amount.")]
        return None
    if not amount.is_finite() or amount <= 0:
        errors["refund_amount"] = [_l("The refund must be more than 0.00 CNY.")]
    elif amount > REFUND_MAX:
        errors["refund_amount"] = [_l("The refund may be at most %(max)s CNY.", max=REFUND_MAX)]
    elif amount.as_tuple().exponent < -2:
        errors["refund_amount"] = [_l("At most two decimal places (fen).")]
    else:
        return amount.quantize(Decimal("0.01"))
    return None


def suggested_refund(query):
    """What the close form proposes: the finding's excess premium."""
    return query.finding.excess_premium


def close(user, query_id, verdict, note=None, refund_amount=None):
    """The reviewer's verdict on an answered query: accepted (explained) or upheld (a violation, with its refund)."""
    query = get_query_for(user, query_id, lock=True)
    if verdict not in VERDICTS:
        raise invalid("verdict", _l("The verdict is one of %(verdicts)s.", verdicts=", ".join(VERDICTS)))
    _check_move(query, verdict)
    errors = {}
    note = _text(errors, "note", note, required=verdict == "upheld")
    amount = None
    if verdict == "upheld":
        amount = _refund(errors, refund_amount)
    elif refund_amount not in (None, ""):
        errors["refund_amount"] = [_l("No refund is owed when the query is accepted.")]
    if errors:
        raise Invalid(_l("The query cannot be closed."), errors)
    closed_at = utcnow()
    values = {"state": verdict, "closing_note": note, "closed_at": closed_at, "closed_by_id": user.id, "refund_amount": amount}
    if amount is not None:
        finding = query.finding
        entry = ledger.post(
            "premium_refund", amount, closed_at.astimezone(LOCAL_TZ), "finding_query", query.id, truck_id=finding.truck_id,
            note=f"Premium refund upheld on finding {finding.id} (policy {finding.policy.number}) of audit {finding.audit_id}",
        )
        db.session.flush()
        values["ledger_entry_id"] = entry.id
    before, after = activity.changes(query, values)
    activity.record("accept" if verdict == "accepted" else "uphold", query, before, after, note=note)
    commit_or_conflict(_l("Another change to this query got there first; reload and try again."), "state")
    return query
