"""Reconciling a carrier statement, set-based: a handful of SQL statements, the ledger's in one transaction.

Every line of the statement, and every SIM of ours of that carrier that should have been billed but was not, gets
exactly one result. A line's outcome, first rule that applies wins:

1. ``duplicate_line``: the ICCID is on an earlier row of the same statement (the first row is reconciled as
   usual; later rows are expected 0.00, the whole amount is in dispute, no flags);
2. ``unknown_sim``: not one of our SIMs (expected 0.00);
3. ``inactive_billed``: ours, no active day in the month (charges.active_days) and billed more than 0.00;
4. ``line_inconsistent``: plan_fee + overage_fee != total_fee (the carrier's own sum is wrong);
5. ``overbilled`` / ``underbilled``: total_fee more / less than expected by more than 0.01;
6. ``matched`` otherwise.

``missing``: our SIM of the statement's carrier, at least one active day and a plan part > 0.00, not on the
statement (expected = the plan part, billed empty). Flags (first rows of known SIMs only): ``zero_usage_installed``
(active in the month, its device on a truck on the reference day, data_kb = 0) and ``over_allowance``
(data_kb > 1.5 x allowance). The truck of a result: the SIM's device on the reference day (charges.reference_day)
was installed on it; a SIM assignment or installation counts on a day (Asia/Shanghai) when it started on or
before that day and did not end before it; on a swap that day the later one wins.

Ledger: every line's billed amounts are booked (categories sim_plan_fee = plan_fee, sim_overage = overage_fee,
zero amounts skipped) against the result's truck and device (None for unknown SIMs), source ("statement_line",
line id). A statement is booked once, all its lines in the run that books it (which sets its ``booked_at``), so a
re-run never books twice. When the statement supersedes older versions of the same carrier and month, their
not-yet-reversed entries are reversed (negated rows with reverses_id); their results are kept as history (their
status ``superseded`` says they no longer count). A superseded statement that is (re)run computes results but
books nothing. Runs of one carrier and month are serialised (PostgreSQL advisory lock). A version held for
confirmation or rejected (sims/statements.py) is never run and supersedes nothing: only newer versions that count
make a run superseded.

Superseded while it runs: a newer version's upload (or confirmation) can commit while this run is under way. The
run then finishes as it began (it books its lines if it began as the month's current version), but it re-reads the
statement's status under a row lock (SELECT ... FOR UPDATE; SQLite has one writer) before its last write, and a
``superseded`` status is never written over: the run ends superseded, so a month lists one ``done`` version. The
ledger stays right because the newer version's run waits for this one's advisory lock and so sees its entries
committed: it reverses them, once (reverses_id is unique), and books its own lines once (booked_at).

Transactions: the ledger side (reversals, booking, ``booked_at``, the statement's state) is one transaction. On
PostgreSQL the results are written at the same time on a second connection (``transactions.Beside``: the machine's
other core), and that transaction commits just before the ledger's, once both sides are done; an error before the
commits rolls both back. A run killed before the commits leaves nothing. Killed (or failing) in the instant between
the two commits, it leaves the new results of a statement that is not ``done`` and no ledger change: the re-run (the
sweep, or the job's retry) replaces the results and books the statement, which was not booked. The two statements
start a moment apart, each with its own snapshot: a SIM or device move committed in that moment could give a line's
result and its ledger entry different trucks, as any later re-run can (the entry is booked once; results are
recomputed from the data of the day). SQLite writes both sides in the session's transaction.

Storage: a run that books the statement stores every result except the plain matches (matched to the fen, no flag):
their line and their ledger entry (with the truck) say everything, and reconciliation_report lists them with the
stored ones. A run that books nothing (a re-run, a superseded version) stores every result. For a million-line
statement that is a hundred thousand rows written instead of a million.

How it stays fast (a million lines: see benchmarks/reconcile.py and the README): on PostgreSQL ONE statement
computes every line's and every missing SIM's facts (the lines, which know their repeated ICCIDs from the upload,
FULL JOIN the carrier's SIMs and their devices' trucks) once, in memory, and writes the results from them (a
data-modifying WITH query); SQLite, which cannot write from WITH, takes the same SQL through a temporary table. The
booking is a second statement that joins the lines to the same SIMs and trucks (the same SQL fragments, so a line's
entry and its result name the same truck) and runs beside the first one: each takes a core, and a million ledger
entries cost about as much as the facts. The tables written carry no per-row foreign key checks and only the
indexes queries use (migrations 0005_reconcile_speed and 0007_line_repeats_ledger_indexes); the session settings are
in ``_settings``.
PostgreSQL's NUMERIC arithmetic costs about a quarter of a microsecond per operation, so the pass does as little of it
per line as it can: a plan's fees are turned into fen once per plan, a line's consistency is one NUMERIC comparison,
and only its total is converted to fen. The devices' trucks are found without looking up a million SIMs: every
assignment is tried on the month's last day, and only SIMs deactivated in the month are looked up for their day.
"""
import time
import zlib

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, bindparam, func, select, text

from ..errors import Conflict
from ..extensions import db
from ..transactions import Beside
from ..types import UTCDateTime, utcnow
from . import charges
from .models import HELD_STATES, Statement
from .reconciliation_report import discrepancies_csv, discrepancies_xlsx, get_statement, summary  # noqa: F401

LOCAL_TZ = "Asia/Shanghai"  # days of the month are China's calendar days (UTC+8, no daylight saving)
SOURCE_TYPE = "statement_line"
ANALYZE_FROM_LINES = 100_000


def _local_date(dialect, ts):
    if dialect == "postgresql":
        return f"CAST(({ts} AT TIME ZONE '{LOCAL_TZ}') AS DATE)"
    return f"date({ts}, '+8 hours')"


def _run(sql, params, connection=None):
    """Execute ``sql`` in the session's transaction (or on ``connection``) with typed date/time parameters (SQLite
    stores them as text)."""
    stmt = text(sql)
    typed = []
    for name in ("month_first", "month_last"):
        if f":{name}" in sql:
            typed.append(bindparam(name, type_=Date()))
    if ":now" in sql:
        typed.append(bindparam("now", type_=UTCDateTime()))
    if typed:
        stmt = stmt.bindparams(*typed)
    used = {k: v for k, v in params.items() if f":{k}" in sql}
    return (db.session if connection is None else connection).execute(stmt, used)


def _sims_sql(dialect, charged):
    """The carrier's SIMs with their reference day (and, when ``charged``, their plan and active days)."""
    columns = f"s.id AS sim_id, s.iccid, {charges.reference_day_sql('s.deactivated_on')} AS ref_day"
    if charged:
        days = charges.active_days_sql(dialect, "s.status", "s.activated_on", "s.deactivated_on")
        columns += f", s.plan_id, {days} AS days"
    return f"(SELECT {columns} FROM sim s WHERE s.carrier = :carrier)"


# A SIM's device and truck on its reference day (``mounted``, in _mounted_sql).
MOUNTED_JOIN = "LEFT JOIN mounted m ON m.sim_id = s.sim_id AND m.ref_day = s.ref_day AND m.rn = 1"


def _mounted_sql(dialect):
    """The CTE ``mounted``: per SIM and reference day (the month's last day for every SIM, or the day of a
    deactivation in the month), the device holding the SIM that day and the truck it was installed on that day. The
    latest assignment held that day (the later one on a swap day), then its latest installation (an assignment has
    either installations that day or one row without: NULLs never compete). Every assignment is tried on the last
    day, so no SIM has to be looked up for it. Join it with ``MOUNTED_JOIN``."""
    held_on = (f"{_local_date(dialect, 'a.started_at')} <= a.ref_day"
               f" AND (a.ended_at IS NULL OR {_local_date(dialect, 'a.ended_at')} >= a.ref_day)")
    mounted_on = (f"{_local_date(dialect, 'i.installed_at')} <= a.ref_day"
                  f" AND (i.removed_at IS NULL OR {_local_date(dialect, 'i.removed_at')} >= a.ref_day)")
    month_last = "CAST(:month_last AS DATE)" if dialect == "postgresql" else ":month_last"  # SQLite: dates are text
    return f"""
    mounted AS (
        SELECT a.sim_id, a.ref_day, a.device_id, i.truck_id,
               ROW_NUMBER() OVER (PARTITION BY a.sim_id, a.ref_day
                                  ORDER BY a.started_at DESC, a.id DESC, i.installed_at DESC, i.id DESC) AS rn
        FROM (SELECT a.id, a.sim_id, a.device_id, a.started_at, a.ended_at, {month_last} AS ref_day
              FROM sim_assignment a
              UNION ALL
              SELECT a.id, a.sim_id, a.device_id, a.started_at, a.ended_at, s.deactivated_on
              FROM sim_assignment a JOIN sim s ON s.id = a.sim_id
              WHERE s.carrier = :carrier AND s.deactivated_on >= :month_first AND s.deactivated_on < :month_last) a
        LEFT JOIN installation i ON i.device_id = a.device_id AND {mounted_on}
        WHERE {held_on}
    )"""


def _facts_sql(dialect):
    """The SELECT of the run's facts (after ``WITH {_mounted_sql}``): one row per line (its SIM, truck, outcome,
    amounts in fen and flags) and one per missing SIM.

    One pass: the statement's lines (each knowing whether its ICCID came on an earlier row: the upload noted it)
    FULL JOIN the carrier's SIMs. Only the carrier's SIMs: a line's ICCID was checked at upload to be the statement
    carrier's, and a SIM's carrier is the issuer of its ICCID (service.check_identity), so no line can be a SIM of
    another carrier. A SIM without a line is `missing` when it owes a plan part; other SIMs without a line are left
    out.
    """
    overage = charges.overage_fen_sql("x.data_kb", "x.allowance_mb", "x.overage_fen", "x.days")
    over_allowance = charges.over_allowance_sql("x.data_kb", "x.allowance_mb")
    tolerance = charges.MATCH_TOLERANCE_FEN
    if dialect == "postgresql":  # NUMERIC is exact: compare the amounts as they are (no conversion per line)
        inconsistent = "l.plan_fee + l.overage_fee <> l.total_fee"
    else:  # SQLite: NUMERIC is a float, so compare fen
        inconsistent = (f"{charges.fen_sql('l.plan_fee')} + {charges.fen_sql('l.overage_fee')}"
                        f" <> {charges.fen_sql('l.total_fee')}")
    # PostgreSQL would merge the subqueries and compute a line's expected amount once per mention (four times): an
    # OFFSET 0 keeps y's columns computed once per row (a fifth of the pass).
    fence = " OFFSET 0" if dialect == "postgresql" else ""
    return f"""
    SELECT y.line_id, y.iccid, y.sim_id, y.truck_id, y.plan_fee, y.overage_fee, y.total_fee,
           y.billed_fen, y.expected_fen, y.zero_usage, y.over_allowance,
           CASE WHEN y.line_id IS NULL THEN 'missing'
                WHEN y.repeated THEN 'duplicate_line'
                WHEN y.sim_id IS NULL THEN 'unknown_sim'
                WHEN y.days = 0 AND y.billed_fen > 0 THEN 'inactive_billed'
                WHEN y.inconsistent THEN 'line_inconsistent'
                WHEN y.billed_fen - y.expected_fen > {tolerance} THEN 'overbilled'
                WHEN y.expected_fen - y.billed_fen > {tolerance} THEN 'underbilled'
                ELSE 'matched' END AS outcome
    FROM (
        SELECT x.line_id, x.iccid, x.sim_id, x.truck_id, x.plan_fee, x.overage_fee, x.total_fee,
               x.days, x.repeated, x.billed_fen, x.inconsistent,
               CASE WHEN x.line_id IS NULL THEN x.plan_fen
                    WHEN x.repeated OR x.sim_id IS NULL THEN 0 ELSE x.plan_fen + {overage} END AS expected_fen,
               CASE WHEN x.line_id IS NOT NULL AND NOT x.repeated AND x.sim_id IS NOT NULL AND x.days > 0
                         AND x.truck_id IS NOT NULL AND x.data_kb = 0 THEN TRUE ELSE FALSE END AS zero_usage,
               CASE WHEN x.line_id IS NOT NULL AND NOT x.repeated AND x.sim_id IS NOT NULL THEN {over_allowance}
                    ELSE FALSE END AS over_allowance
        FROM (
            SELECT l.id AS line_id, COALESCE(l.iccid, s.iccid) AS iccid, l.data_kb, l.plan_fee, l.overage_fee,
                   l.total_fee, s.sim_id, s.days, p.allowance_mb, p.overage_fen, m.truck_id,
                   CASE WHEN s.days > 0 THEN {charges.plan_part_fen_sql('p.monthly_fen', 's.days')} ELSE 0 END
                       AS plan_fen,
                   CASE WHEN l.first_row IS NOT NULL THEN TRUE ELSE FALSE END AS repeated,
                   {charges.fen_sql('l.total_fee', dialect)} AS billed_fen,
                   CASE WHEN {inconsistent} THEN TRUE ELSE FALSE END AS inconsistent
            FROM (SELECT * FROM statement_line WHERE statement_id = :statement_id) l
            FULL JOIN {_sims_sql(dialect, charged=True)} s ON s.iccid = l.iccid
            LEFT JOIN {charges.plans_in_fen_sql(dialect)} p ON p.id = s.plan_id
            {MOUNTED_JOIN}
        ) x
        WHERE x.line_id IS NOT NULL OR x.plan_fen > 0{fence}
    ) y
    """


def _book_sql(dialect):
    """Book every line's billed amounts (categories sim_plan_fee = plan_fee, sim_overage = overage_fee, zero amounts
    skipped) against the truck and device its SIM had on the reference day: the same SIMs and ``mounted`` as the
    facts, so a line's entry and its result name the same truck."""
    return f"""
    WITH {_mounted_sql(dialect)},
    booked AS MATERIALIZED (
        SELECT l.id AS line_id, l.plan_fee, l.overage_fee, m.truck_id, m.device_id
        FROM (SELECT id, iccid, plan_fee, overage_fee FROM statement_line WHERE statement_id = :statement_id) l
        LEFT JOIN {_sims_sql(dialect, charged=False)} s ON s.iccid = l.iccid
        {MOUNTED_JOIN}
    )
    INSERT INTO ledger_entry (category, amount, period, truck_id, device_id, source_type, source_id, created_at)
    SELECT 'sim_plan_fee', b.plan_fee, :period, b.truck_id, b.device_id, 'statement_line',
           CAST(b.line_id AS VARCHAR(60)), :now
    FROM booked b WHERE b.plan_fee <> 0
    UNION ALL
    SELECT 'sim_overage', b.overage_fee, :period, b.truck_id, b.device_id, 'statement_line',
           CAST(b.line_id AS VARCHAR(60)), :now
    FROM booked b WHERE b.overage_fee <> 0
    """


LINE_RESULTS_SQL = """
    INSERT INTO reconciliation_result (statement_id, line_id, sim_id, iccid, truck_id, outcome, billed, expected,
                                       difference, zero_usage_installed, over_allowance)
    SELECT :statement_id, x.line_id, x.sim_id, x.iccid, x.truck_id, x.outcome, x.total_fee,
           x.expected_fen / 100.0, (COALESCE(x.billed_fen, 0) - x.expected_fen) / 100.0, x.zero_usage,
           x.over_allowance
    FROM recon x
"""
# A plain match: matched to the fen, no flag, and booked by this run (so its ledger entries carry its truck).
PLAIN_MATCH = ("x.outcome = 'matched' AND x.billed_fen = x.expected_fen AND NOT x.zero_usage AND NOT x.over_allowance"
               " AND (x.plan_fee <> 0 OR x.overage_fee <> 0)")

# Reverse the older versions' entries not reversed yet (reverses_id is unique: never twice).
REVERSE_OLDER_SQL = """
    INSERT INTO ledger_entry (category, amount, period, truck_id, device_id, company_id, source_type, source_id,
                              reverses_id, note, created_at)
    SELECT e.category, -e.amount, e.period, e.truck_id, e.device_id, e.company_id, e.source_type, e.source_id, e.id,
           :note, :now
    FROM ledger_entry e
    WHERE e.source_type = 'statement_line' AND e.period = :period AND e.reverses_id IS NULL
      AND CAST(e.source_id AS INTEGER) IN (SELECT l.id FROM statement_line l JOIN statement s ON s.id = l.statement_id
                                           WHERE s.carrier = :carrier AND s.period = :period AND s.version < :version)
      AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_id IS NOT NULL AND r.reverses_id = e.id)
"""

TOTALS_SQL = "SELECT COUNT(line_id), COALESCE(SUM(billed_fen), 0), COALESCE(SUM(expected_fen), 0) FROM recon"

def _settings(dialect, connection=None):
    """This transaction's settings for the run's one-pass statements (PostgreSQL)."""
    if dialect != "postgresql":
        return
    for setting in (
        # hashes of a million lines and SIMs in memory, not in batches on disk
        "work_mem = '256MB'",
        # no JIT compilation: it costs more than it saves on these one-pass statements
        "jit = off",
        # the commit does not wait for the WAL flush: a crash in that instant loses this run's commit, which leaves
        # the statement `running` for the sweep to run again (a run is idempotent), and nothing else
        "synchronous_commit = off",
        # every join here is over a whole statement or SIM set; the row estimates of lines loaded seconds ago are
        # stale (autovacuum has not analysed them yet), and a nested loop on such an estimate takes minutes
        "enable_nestloop = off",
    ):
        (db.session if connection is None else connection).execute(text(f"SET LOCAL {setting}"))


def _lock(dialect, statement):
    """Runs of one carrier and month serialised (the newer version must see the older one's ledger entries)."""
    if dialect == "postgresql":
        key = zlib.crc32(f"reconcile:{statement.carrier}:{statement.period}".encode())
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _step(progress, percent):
    if progress is not None:
        progress(percent)
    delay = current_app.config.get("RECONCILE_STEP_DELAY") or 0
    if delay:  # test-only: makes a run slow enough to be killed mid-way
        time.sleep(float(delay))


def _results_statements(dialect, book):
    """The SQL statements that replace the statement's results, in order; the last one answers the totals."""
    results = LINE_RESULTS_SQL + (f" WHERE NOT ({PLAIN_MATCH})" if book else "")
    mounted, facts = _mounted_sql(dialect), _facts_sql(dialect)
    delete = "DELETE FROM reconciliation_result WHERE statement_id = :statement_id"
    if dialect == "postgresql":  # one statement: the facts once, in memory, the results written from them
        return [delete, f"WITH {mounted}, recon AS MATERIALIZED ({facts}), results AS ({results}) {TOTALS_SQL}"]
    # SQLite writes only in the outer statement: the facts go to a temporary table first
    return [delete, "DROP TABLE IF EXISTS temp.recon",  # a failed run's table may still be there
            f"CREATE TEMP TABLE recon AS WITH {mounted} {facts}", results, TOTALS_SQL]


def reconcile(statement_id, progress=None):
    """Recompute the statement's results and book its ledger entries; returns the summary.

    ``progress(percent)`` is called between the steps (it must not write to this session). On PostgreSQL the results
    are written on a second connection, beside the booking (see ``Beside``); SQLite writes both in the session's
    transaction.
    """
    db.session.commit()  # the second connection sees committed rows only
    dialect = db.engine.dialect.name
    statement = get_statement(statement_id)
    if statement.status in HELD_STATES:
        raise Conflict(_l("Statement %(id)s is %(status)s: it is not reconciled.", id=statement_id, status=statement.status),
                       {"status": [statement.status]})
    _settings(dialect)
    _lock(dialect, statement)
    superseded = statement.status == "superseded" or db.session.scalar(
        select(func.count()).select_from(Statement).where(
            Statement.carrier == statement.carrier, Statement.period == statement.period,
            Statement.version > statement.version, Statement.status.notin_(HELD_STATES))
    ) > 0
    params = {"statement_id": statement.id, "carrier": statement.carrier, "period": statement.period,
              "version": statement.version, "now": utcnow(),
              "note": f"statement {statement.id} (v{statement.version}) supersedes it",
              **charges.month_params(statement.period)}
    book = not superseded and statement.booked_at is None  # a statement is booked once, by the run that books it
    _step(progress, 5)
    if dialect == "postgresql":
        with Beside(db.engine, lambda connection: _write_results(dialect, book, params, connection)) as results:
            _book(dialect, superseded, book, params, progress)
            totals = results.answer()
            _step(progress, 90)
            results.commit()
    else:
        _book(dialect, superseded, book, params, progress)
        totals = _write_results(dialect, book, params)
        _run("DROP TABLE temp.recon", {})
        _step(progress, 90)
    # The status as it is now, the row locked until the commit: a newer version may have superseded this one while
    # it ran (its upload or confirmation committed meanwhile). That is never written over (_finish).
    db.session.refresh(statement, with_for_update=True)
    if book:
        statement.booked_at = utcnow()
    _finish(statement, superseded, totals)
    db.session.commit()
    if dialect == "postgresql" and statement.line_count >= ANALYZE_FROM_LINES:
        # After the commit (the statement is done already): a large statement changes the statistics of the tables
        # it was written to enough that the planner should not wait for autovacuum to see its rows.
        _run("ANALYZE statement_line, reconciliation_result, ledger_entry", {})
        db.session.commit()
    return summary(statement.id)


def _book(dialect, superseded, book, params, progress):
    """The ledger side, in the session's transaction: reverse the older versions' entries, book this one's lines."""
    if not superseded:
        _run(REVERSE_OLDER_SQL, params)
    _step(progress, 15)
    if book:
        _run(_book_sql(dialect), params)
    _step(progress, 40)


def _write_results(dialect, book, params, connection=None):
    """Replace the statement's results (in the session's transaction, or on ``connection``); returns the totals
    (lines, billed fen, expected fen)."""
    _settings(dialect, connection)
    *writes, totals = _results_statements(dialect, book)
    for sql in writes:
        _run(sql, params, connection)
    return tuple(_run(totals, params, connection).one())


def _finish(statement, superseded, totals):
    """Totals and state of the statement, in the run's transaction (``statement`` re-read under its row lock): done,
    unless it was superseded when the run began or is now."""
    lines, billed_fen, expected_fen = totals
    statement.line_count = lines
    statement.billed_total = charges.cny(billed_fen)
    statement.expected_total = charges.cny(expected_fen)
    statement.status = "superseded" if superseded or statement.status == "superseded" else "done"
    statement.progress = 100
    statement.error = None
    statement.finished_at = utcnow()


def rerun(statement_id):
    """Queue the statement's reconciliation again (inline without Redis); Redis down: it stays queued for the sweep."""
    from .statements import enqueue_reconciliation

    statement = db.session.get(Statement, statement_id, with_for_update=True, populate_existing=True)
    if statement is None:
        get_statement(statement_id)  # 404
    if statement.status in HELD_STATES:
        db.session.rollback()
        raise Conflict(_l("Statement %(id)s is %(status)s: it is reconciled only once an operator confirms it.",
                          id=statement_id, status=statement.status), {"status": [statement.status]})
    if statement.status != "superseded":
        statement.status = "queued"
    db.session.commit()
    enqueue_reconciliation(statement.id)
    db.session.expire_all()
    return get_statement(statement_id)
