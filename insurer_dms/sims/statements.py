"""Carrier statements: upload and streaming ingest, versions, queueing the reconciliation, sweep and drop folder.

A statement is stored in one transaction (the Statement row, its lines by COPY or executemany, the raw file in
object storage) and only then queued; when Redis is down it stays ``queued`` and ``sweep_queued`` enqueues it
later. Bad files store nothing and list every bad row (the first ``MAX_LISTED`` problems, with a count); a file is
checked whole (every row of the header's width, a CSV's last line ended, at most ``STATEMENT_MAX_ROWS`` rows: see
statement_file).

Versions that must never win by accident: a file cut exactly at a line boundary reads as a complete, shorter file.
So a new version with fewer than ``STATEMENT_SHRINK_CONFIRM`` (0.9) of the lines of the version it would supersede
(the month's current version: queued, running, done or failed) is stored ``needs_confirmation``: it supersedes
nothing, is not reconciled (the job and the sweep leave it alone) and books nothing until an operator confirms it
(``confirm_statement``: it then supersedes and is queued as any upload would be) or rejects it
(``reject_statement``: ``rejected``, it never counts). Both are recorded in the activity log with who and when.
A newer complete version supersedes the held ones too. The month's statements are locked (SELECT ... FOR UPDATE)
by every change of version or state here, so an upload, a confirmation and a rejection of one month take turns.
"""
import contextlib
import itertools
import json
import re
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from .. import activity
from ..activity import Activity
from ..errors import Conflict, DomainError, NotFound, invalid
from ..extensions import db
from ..labels import named
from ..storage import sha256, storage
from . import statement_columns
from . import statement_file as sf
from .models import CARRIERS, COUNTING_STATES, Statement

RECONCILE_JOB = "jobs.reconcile.reconcile_statement"
LINE_COLUMNS = "statement_id, row_no, iccid, msisdn, data_kb, sms_count, plan_fee, overage_fee, total_fee, first_row"
CONTENT_TYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
# Where carriers (or an SFTP bridge) drop monthly files for the scheduled pick-up.
DROPPED = re.compile(r"statements/(china_mobile|china_unicom|china_telecom)/(\d{4}-(?:0[1-9]|1[0-2]))\.(csv|xlsx)")
CHUNK = 10_000  # lines per COPY write / executemany batch
NULL = "\\N"  # COPY text format's NULL


# ---------------------------------------------------------------- writing lines in bulk


@contextlib.contextmanager
def _line_sink(statement_id):
    """(sink, entry) streaming lines into statement_line in the session's transaction: ``entry(row, line)`` makes
    what the checker collects for a line, ``sink([entry, ...])`` writes a chunk of them."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        from psycopg.copy import QueuedLibpqWriter

        cursor = connection.connection.driver_connection.cursor()
        # A writer thread sends while this thread parses the next chunk. COPY text format: every value was
        # checked to be digits (and one dot), so nothing needs escaping; an absent MSISDN is \N. Each line is
        # formatted as it is checked: strings, not tuples, wait in the chunk (the garbage collector ignores them).
        with cursor.copy(f"COPY statement_line ({LINE_COLUMNS}) FROM STDIN", writer=QueuedLibpqWriter(cursor)) as copy:
            def entry(n, line, first_row):
                i, m, kb, sms, p, o, t = line
                return f"{statement_id}\t{n}\t{i}\t{m or NULL}\t{kb}\t{sms or 0}\t{p}\t{o}\t{t}\t{first_row or NULL}\n"

            yield (lambda batch: copy.write("".join(batch))), entry
        return

    paramstyle = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO statement_line ({LINE_COLUMNS}) VALUES ({', '.join([paramstyle] * 10)})"

    def sink(batch):
        connection.exec_driver_sql(sql, [
            (statement_id, n, i, m or None, int(kb), int(sms or 0), p, o, t, first)
            for n, (i, m, kb, sms, p, o, t), first in batch
        ])

    yield sink, None


@contextlib.contextmanager
def _csv_copy():
    """``write(bytes)`` streaming CSV rows of LINE_COLUMNS into statement_line (PostgreSQL), in the session's
    transaction, a writer thread sending while the caller checks the next block."""
    from psycopg.copy import QueuedLibpqWriter

    cursor = db.session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY statement_line ({LINE_COLUMNS}) FROM STDIN (FORMAT csv)",
                     writer=QueuedLibpqWriter(cursor)) as copy:
        yield copy.write


def _store_lines(statement, data, headers, raw, checker, rows, problems):
    """Check every row and store the good lines (until a row fails); returns (lines, billed total). A plain CSV
    file on PostgreSQL is checked a column at a time (statement_columns), anything else a line at a time."""
    if raw and db.session.connection().dialect.name == "postgresql":
        savepoint = db.session.begin_nested()
        try:
            with _csv_copy() as write:
                stored = statement_columns.check(statement_columns.batches(data, len(headers)), checker, problems,
                                                 write, statement.id)
            savepoint.commit()
            return stored
        except statement_columns.NotColumnar:
            savepoint.rollback()  # what was written goes; the line loop starts again from the first row
            problems.clear()
    with _line_sink(statement.id) as (sink, entry):
        return checker.check(rows, problems, sink, CHUNK, entry)


# ---------------------------------------------------------------- ingest


def find_by_sha(digest):
    return db.session.scalar(select(Statement).where(Statement.sha256 == digest))


def ingest_statement(data, filename, carrier=None, user_id=None, period=None):
    """Store a carrier statement and queue its reconciliation; returns (statement, created).

    The same file again returns the stored statement (created False). A new file for a carrier and month
    already stored becomes the next version and supersedes the previous one. ``period`` (drop folder) makes
    rows of any other month bad rows. Raises Invalid / ImportFailed (every bad row) and stores nothing then.
    """
    suffix = (filename or "").lower().rpartition(".")[2]
    if suffix not in CONTENT_TYPES:
        raise invalid("file", _l("Upload a .csv or .xlsx file."))
    if carrier is not None and carrier not in CARRIERS:
        raise invalid("carrier", _l("Carrier must be one of %(carriers)s.", carriers=", ".join(CARRIERS)))
    digest = sha256(data)
    existing = find_by_sha(digest)
    if existing is not None:
        return existing, False

    source, raw = sf.open_rows(data, filename)
    headers = next(source, None)
    if headers is None:
        raise invalid("file", _l("The file is empty."))
    columns = sf.header_columns(sf.cells_of(headers))
    shape = sf.file_shape(data, filename, sf.cells_of(headers))
    max_rows = current_app.config["STATEMENT_MAX_ROWS"]
    rows = sf.numbered(source)
    declared = carrier
    carrier, period, seen = sf.first_line(rows, columns, carrier, period)
    rows = itertools.chain(seen, rows)
    if not seen:
        raise invalid("file", _l("The file has no data rows."))
    problems = sf.Problems()
    if carrier is None or period is None:  # no row says whose or which month: explain every row, store nothing
        sf.LineChecker(columns, carrier or CARRIERS[0], period, raw=raw, shape=shape, max_rows=max_rows).check(
            rows, problems)
        if not problems:
            raise invalid("file", _l("No row names a valid ICCID and month."))
        raise problems.error()

    try:
        statement, current = _create(carrier, period, digest, filename, suffix, user_id)
        checker = sf.LineChecker(columns, carrier, period, seen, raw, shape=shape, max_rows=max_rows)
        count, billed = _store_lines(statement, data, sf.cells_of(headers), raw, checker, rows, problems)
        if problems:
            raise problems.error()
        if count == 0:
            raise invalid("file", _l("The file has no data rows."))
        statement.line_count, statement.billed_total = count, billed
        note = f"{filename} ({count} lines)" + ("" if declared else "; carrier from the ICCIDs")
        if _much_smaller(statement, current):
            statement.status = "needs_confirmation"
            note += (f"; held for confirmation: {count} lines against {current.line_count} of version "
                     f"{current.version}")
        else:
            _supersede_previous(statement)
        activity.record("create", statement, note=note)
        storage().put(statement.object_key, data, CONTENT_TYPES[suffix])
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = find_by_sha(digest)
        if existing is not None:  # the same file uploaded twice at once: the first one stands
            return existing, False
        raise Conflict(_l("Another %(carrier)s statement for %(period)s was stored at the same moment; upload again.",
                          carrier=named("carrier", carrier), period=period))
    except BaseException:
        db.session.rollback()
        raise
    if statement.status == "needs_confirmation":
        current_app.logger.warning("statement %s (%s %s v%s) is held for confirmation: %s lines against %s",
                                   statement.id, carrier, period, statement.version, count, current.line_count)
    else:
        enqueue_reconciliation(statement.id)
    return db.session.get(Statement, statement.id), True


def _month_locked(carrier, period):
    """Every version of a carrier's month, locked for this transaction (in id order, so lockers take turns)."""
    return db.session.scalars(
        select(Statement).where(Statement.carrier == carrier, Statement.period == period)
        .order_by(Statement.id).with_for_update().execution_options(populate_existing=True)
    ).all()


def _current_of(versions, below=None):
    """The month's current version (the newest one that counts) among ``versions``, older than ``below``."""
    counting = [s for s in versions if s.status in COUNTING_STATES and (below is None or s.version < below)]
    return max(counting, key=lambda s: s.version, default=None)


def _much_smaller(statement, current):
    """True if ``statement`` has fewer than STATEMENT_SHRINK_CONFIRM of the current version's lines."""
    share = current_app.config["STATEMENT_SHRINK_CONFIRM"]
    return current is not None and statement.line_count < share * current.line_count


def _create(carrier, period, digest, filename, suffix, user_id):
    """(the new Statement row, flushed for its id: the next version of this carrier's month; the month's current
    version, or None)."""
    previous = _month_locked(carrier, period)
    version = max((s.version for s in previous), default=0) + 1
    statement = Statement(
        carrier=carrier, period=period, version=version, sha256=digest, filename=(filename or "")[-255:],
        object_key=f"statements/{carrier}/{period}/v{version}-{digest[:12]}.{suffix}",
        status="queued", progress=0, line_count=0, billed_total=Decimal("0.00"), created_by_id=user_id,
    )
    db.session.add(statement)
    db.session.flush()
    return statement, _current_of(previous)


def _supersede_previous(statement):
    """Earlier versions of the month become ``superseded`` (a held one too: it is no longer to be confirmed; a
    rejected one stays rejected); the new version's run replaces their results and reverses their entries."""
    older = db.session.scalars(
        select(Statement).where(Statement.carrier == statement.carrier, Statement.period == statement.period,
                                Statement.version < statement.version,
                                Statement.status.notin_(("superseded", "rejected")))
    ).all()
    for old in older:
        before = old.status
        old.status, old.superseded_by_id = "superseded", statement.id
        activity.record(f"state:{before}->superseded", old, before={"status": before},
                        after={"status": "superseded", "superseded_by_id": statement.id}, note=f"version {statement.version}")


# ---------------------------------------------------------------- held versions: confirm or reject


def _held(statement_id):
    """The statement, locked with its month's versions, if it is waiting for confirmation (else 404 / 409)."""
    statement = get_statement(statement_id)
    versions = _month_locked(statement.carrier, statement.period)
    statement = next(s for s in versions if s.id == statement_id)
    if statement.status != "needs_confirmation":
        raise Conflict(_l("Statement %(id)s is not waiting for confirmation (its status is %(status)s).",
                          id=statement.id, status=statement.status), {"status": [statement.status]})
    return statement, versions


def confirm_statement(statement_id):
    """An operator confirms a held version: it supersedes the month's earlier versions and its reconciliation is
    queued, as for an ordinary upload. Returns the statement."""
    statement, versions = _held(statement_id)
    current = _current_of(versions, below=statement.version)
    statement.status = "queued"
    activity.record("confirm", statement, before={"status": "needs_confirmation"}, after={"status": "queued"},
                    note=_comparison_note(statement, current))
    _supersede_previous(statement)
    db.session.commit()
    enqueue_reconciliation(statement.id)
    db.session.expire_all()
    return get_statement(statement_id)


def reject_statement(statement_id):
    """An operator rejects a held version: ``rejected``, kept as history, never reconciled, booked or current."""
    statement, versions = _held(statement_id)
    current = _current_of(versions, below=statement.version)
    statement.status = "rejected"
    activity.record("reject", statement, before={"status": "needs_confirmation"}, after={"status": "rejected"},
                    note=_comparison_note(statement, current))
    db.session.commit()
    return get_statement(statement_id)


def _comparison_note(statement, current):
    if current is None:
        return f"{statement.line_count} lines, {statement.billed_total} CNY; no current version"
    return (f"{statement.line_count} lines, {statement.billed_total} CNY against version {current.version}: "
            f"{current.line_count} lines, {current.billed_total} CNY")


def comparison(statement):
    """For a held version: its lines and billed total against the month's current version's, else None."""
    if statement.status != "needs_confirmation":
        return None
    current = _current_of(versions_of(statement), below=statement.version)
    if current is None:
        return None
    return {
        "current_id": current.id, "current_version": current.version, "current_status": current.status,
        "current_line_count": current.line_count, "current_billed_total": current.billed_total,
        "line_count": statement.line_count, "billed_total": statement.billed_total,
        "line_share": round(statement.line_count / current.line_count, 4),
        "threshold": current_app.config["STATEMENT_SHRINK_CONFIRM"],
    }


# ---------------------------------------------------------------- the queue


def _redis_errors():
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return RedisConnectionError, RedisTimeoutError


def enqueue_reconciliation(statement_id):
    """Queue the reconciliation of a statement; True if queued (or run inline). Redis down: stays queued."""
    from jobs.reconcile import RETRY

    from ..queue import enqueue

    if not current_app.config.get("REDIS_URL"):
        try:
            enqueue(RECONCILE_JOB, statement_id)  # inline: the job sets the status itself
        except Exception:  # the stored statement stands; the job records its own failures, log anything else
            db.session.rollback()
            current_app.logger.exception("inline reconciliation of statement %s failed", statement_id)
        return True
    try:
        job = enqueue(RECONCILE_JOB, statement_id, retry=RETRY, description=f"reconcile statement {statement_id}")
    except _redis_errors() as err:
        current_app.logger.warning("Redis unavailable, statement %s stays queued for the sweep: %s", statement_id, err)
        return False
    # Only the job id: the worker may already be updating the statement's status.
    db.session.execute(update(Statement).where(Statement.id == statement_id).values(job_id=job.id))
    db.session.commit()
    return True


def _job_alive(job_id, connection):
    """True if the RQ job exists and will still run (queued, scheduled, deferred or started)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    if not job_id:
        return False
    try:
        status = Job.fetch(job_id, connection=connection).get_status()
    except NoSuchJobError:
        return False
    return status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED)


def sweep_queued():
    """Enqueue every queued statement (and every running one whose job died) that has no live job. Idempotent.

    Returns counts: ``pending`` statements waiting, ``enqueued`` now, ``in_queue`` (their job is still waiting
    or running), ``redis_down`` (Redis did not answer: try again later).
    """
    redis_mode = bool(current_app.config.get("REDIS_URL"))
    waiting = db.session.execute(
        select(Statement.id, Statement.status, Statement.job_id)
        .where(Statement.status.in_(("queued", "running") if redis_mode else ("queued",))).order_by(Statement.id)
    ).all()
    queued = [(i, job_id) for i, status, job_id in waiting if status == "queued"]
    running = [(i, job_id) for i, status, job_id in waiting if status == "running" and job_id]
    counts = {"pending": len(queued), "enqueued": 0, "in_queue": 0, "redis_down": False}
    connection = None
    if redis_mode:
        from ..queue import redis_connection

        connection = redis_connection()
    try:
        for statement_id, job_id in running:  # a worker killed mid-run: its job is gone or failed
            if not _job_alive(job_id, connection):
                queued.append((statement_id, None))
                counts["pending"] += 1
        for statement_id, job_id in queued:
            if redis_mode and _job_alive(job_id, connection):
                counts["in_queue"] += 1
            elif enqueue_reconciliation(statement_id):
                counts["enqueued"] += 1
            elif redis_mode:
                counts["redis_down"] = True
                break
    except _redis_errors():
        counts["redis_down"] = True
    return counts


# ---------------------------------------------------------------- drop folder


def _failed_before(key, digest):
    return db.session.scalar(
        select(func.count()).select_from(Activity).where(
            Activity.entity_type == "statement_drop", Activity.entity_id == key, Activity.note == digest)
    ) > 0


def _too_large(store, key, result):
    """True for a dropped file over STATEMENT_MAX_BYTES, never read: recorded once as refused (note: its size)."""
    size, limit = store.size(key), current_app.config["STATEMENT_MAX_BYTES"]
    if size is None or size <= limit:
        return False
    note = f"{size} bytes"
    if _failed_before(key, note):
        result["skipped"] += 1
        return True
    message = str(_l("The file is %(size)s MB; a statement of at most %(limit)s MB is read.",
                     size=f"{size / (1 << 20):,.1f}", limit=f"{limit / (1 << 20):,.0f}"))
    current_app.logger.warning("dropped statement %s refused: %s", key, message)
    activity.record("pickup_failed", None, entity_type="statement_drop", entity_id=key, note=note,
                    after={"message": message, "errors": {"file": [message]}, "rows": []})
    db.session.commit()
    result["failed"].append(key)
    return True


def pick_up_dropped():
    """Ingest files dropped at ``statements/<carrier>/<YYYY-MM>.<csv|xlsx>``; a bad file never blocks the others.

    A file already ingested (same SHA-256) is skipped. A refused file is logged and recorded once as an
    activity entry (entity ``statement_drop`` = its key, note = its SHA-256, the error and first bad rows in
    ``after``), then skipped until its content changes. A file much smaller than the month's current version is
    ingested held for confirmation, as an upload would be. Returns ``{ingested: [ids], held: [ids of those held],
    skipped, failed: [keys]}``.
    """
    store = storage()
    result = {"ingested": [], "held": [], "skipped": 0, "failed": []}
    for key in store.list("statements/"):
        match = DROPPED.fullmatch(key)
        if not match:
            continue  # stored versions live deeper (statements/<carrier>/<period>/v1-...)
        carrier, period, _suffix = match.groups()
        if _too_large(store, key, result):
            continue
        data = store.get(key)
        digest = sha256(data)
        if find_by_sha(digest) is not None or _failed_before(key, digest):
            result["skipped"] += 1
            continue
        try:
            statement, created = ingest_statement(data, key.rpartition("/")[2], carrier=carrier, period=period)
        except DomainError as err:
            db.session.rollback()
            current_app.logger.warning("dropped statement %s refused: %s", key, err.message)
            activity.record("pickup_failed", None, entity_type="statement_drop", entity_id=key, note=digest,
                            after=_plain({"message": err.message, "errors": err.errors, "rows": (err.rows or [])[:100]}))
            db.session.commit()
            result["failed"].append(key)
            continue
        if created:
            result["ingested"].append(statement.id)
            if statement.status == "needs_confirmation":
                result["held"].append(statement.id)
        else:
            result["skipped"] += 1
    return result


def _plain(value):
    """JSON-safe: messages carried as translatable strings become text (the activity log stores JSON)."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


# ---------------------------------------------------------------- reading


def get_statement(statement_id):
    statement = db.session.get(Statement, statement_id)
    if statement is None:
        raise NotFound(_l("No statement %(id)s.", id=statement_id))
    return statement


def statements_query(carrier=None, period=None, status=None):
    """Statements, newest month first, then carrier and newest version."""
    stmt = select(Statement).order_by(Statement.period.desc(), Statement.carrier, Statement.version.desc())
    if carrier:
        stmt = stmt.where(Statement.carrier == carrier)
    if period:
        stmt = stmt.where(Statement.period == period)
    if status:
        stmt = stmt.where(Statement.status == status)
    return stmt


def versions_of(statement):
    """Every version of the statement's carrier and month, newest first."""
    return db.session.scalars(statements_query(carrier=statement.carrier, period=statement.period)).all()
