"""Carrier statements: upload and streaming ingest, versions, queueing the reconciliation, sweep and drop folder.

A statement is stored in one transaction (the Statement row, its lines by COPY or executemany, the raw file in
object storage) and only then queued; when Redis is down it stays ``queued`` and ``sweep_queued`` enqueues it
later. Bad files store nothing and list every bad row (the first ``MAX_LISTED`` problems, with a count).
"""
import contextlib
import itertools
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
from .models import CARRIERS, Statement

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
    rows = sf.numbered(source)
    declared = carrier
    carrier, period, seen = sf.first_line(rows, columns, carrier, period)
    rows = itertools.chain(seen, rows)
    if not seen:
        raise invalid("file", _l("The file has no data rows."))
    problems = sf.Problems()
    if carrier is None or period is None:  # no row says whose or which month: explain every row, store nothing
        sf.LineChecker(columns, carrier or CARRIERS[0], period, raw=raw).check(rows, problems)
        if not problems:
            raise invalid("file", _l("No row names a valid ICCID and month."))
        raise problems.error()

    try:
        statement = _create(carrier, period, digest, filename, suffix, user_id)
        checker = sf.LineChecker(columns, carrier, period, seen, raw)
        count, billed = _store_lines(statement, data, sf.cells_of(headers), raw, checker, rows, problems)
        if problems:
            raise problems.error()
        if count == 0:
            raise invalid("file", _l("The file has no data rows."))
        statement.line_count, statement.billed_total = count, billed
        _supersede_previous(statement)
        activity.record("create", statement, note=f"{filename} ({count} lines)" + ("" if declared else "; carrier from the ICCIDs"))
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
    enqueue_reconciliation(statement.id)
    return db.session.get(Statement, statement.id), True


def _create(carrier, period, digest, filename, suffix, user_id):
    """The new Statement row (flushed for its id): the next version of this carrier's month."""
    previous = db.session.scalars(
        select(Statement).where(Statement.carrier == carrier, Statement.period == period).with_for_update()
    ).all()
    version = max((s.version for s in previous), default=0) + 1
    statement = Statement(
        carrier=carrier, period=period, version=version, sha256=digest, filename=(filename or "")[-255:],
        object_key=f"statements/{carrier}/{period}/v{version}-{digest[:12]}.{suffix}",
        status="queued", progress=0, line_count=0, billed_total=Decimal("0.00"), created_by_id=user_id,
    )
    db.session.add(statement)
    db.session.flush()
    return statement


def _supersede_previous(statement):
    """Earlier versions of the month become ``superseded``; the new version's run replaces their results."""
    older = db.session.scalars(
        select(Statement).where(Statement.carrier == statement.carrier, Statement.period == statement.period,
                                Statement.id != statement.id, Statement.status != "superseded")
    ).all()
    for old in older:
        before = old.status
        old.status, old.superseded_by_id = "superseded", statement.id
        activity.record(f"state:{before}->superseded", old, before={"status": before},
                        after={"status": "superseded", "superseded_by_id": statement.id}, note=f"version {statement.version}")


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


def pick_up_dropped():
    """Ingest files dropped at ``statements/<carrier>/<YYYY-MM>.<csv|xlsx>``; a bad file never blocks the others.

    A file already ingested (same SHA-256) is skipped. A refused file is logged and recorded once as an
    activity entry (entity ``statement_drop`` = its key, note = its SHA-256, the error and first bad rows in
    ``after``), then skipped until its content changes. Returns ``{ingested: [ids], skipped, failed: [keys]}``.
    """
    store = storage()
    result = {"ingested": [], "skipped": 0, "failed": []}
    for key in store.list("statements/"):
        match = DROPPED.fullmatch(key)
        if not match:
            continue  # stored versions live deeper (statements/<carrier>/<period>/v1-...)
        carrier, period, _suffix = match.groups()
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
                            after={"message": err.message, "errors": err.errors, "rows": (err.rows or [])[:100]})
            db.session.commit()
            result["failed"].append(key)
            continue
        if created:
            result["ingested"].append(statement.id)
        else:
            result["skipped"] += 1
    return result


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
