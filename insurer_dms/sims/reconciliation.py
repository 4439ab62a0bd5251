"""Reconciling a carrier statement, set-based: a handful of INSERT ... SELECT statements in ONE transaction.

Every line of the statement, and every SIM of ours of that carrier that should have been billed but was not, gets
exactly one ``reconciliation_result``. A line's outcome, first rule that applies wins:

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
zero amounts skipped) against the result's truck (None for unknown SIMs), source ("statement_line", line id).
Writing is idempotent: only lines without entries get them, so a re-run never books twice. When the statement
supersedes older versions of the same carrier and month, their not-yet-reversed entries are reversed (negated rows
with reverses_id); their results are kept as history (their status ``superseded`` says they no longer count). A
superseded statement that is (re)run computes results but books nothing. Runs of one carrier and month are
serialised (PostgreSQL advisory lock), and a run killed at any point leaves nothing: it is one transaction.
"""
import time
import zlib

from flask import current_app
from sqlalchemy import Date, bindparam, func, select, text

from ..extensions import db
from ..types import UTCDateTime, utcnow
from . import charges
from .models import Statement, StatementLine
from .reconciliation_report import discrepancies_csv, discrepancies_xlsx, get_statement, summary  # noqa: F401

LOCAL_TZ = "Asia/Shanghai"  # days of the month are China's calendar days (UTC+8, no daylight saving)
SOURCE_TYPE = "statement_line"


def _local_date(dialect, ts):
    if dialect == "postgresql":
        return f"CAST(({ts} AT TIME ZONE '{LOCAL_TZ}') AS DATE)"
    return f"date({ts}, '+8 hours')"


def _run(sql, params):
    """Execute ``sql`` in the session's transaction with typed date/time parameters (SQLite stores them as text)."""
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
    return db.session.execute(stmt, used)


def _sim_month_sql(dialect):
    """The month's facts of every SIM in scope: active days, plan part, reference day, device and truck then."""
    days = charges.active_days_sql(dialect, "s.status", "s.activated_on", "s.deactivated_on")
    ref_day = charges.reference_day_sql("s.deactivated_on")
    held_on = (f"{_local_date(dialect, 'a.started_at')} <= b.ref_day"
               f" AND (a.ended_at IS NULL OR {_local_date(dialect, 'a.ended_at')} >= b.ref_day)")
    mounted_on = (f"{_local_date(dialect, 'i.installed_at')} <= h.ref_day"
                  f" AND (i.removed_at IS NULL OR {_local_date(dialect, 'i.removed_at')} >= h.ref_day)")
    create = "CREATE TEMP TABLE recon_sim ON COMMIT DROP AS" if dialect == "postgresql" else "CREATE TEMP TABLE recon_sim AS"
    return f"""
    {create}
    WITH base AS (
        SELECT s.id AS sim_id, s.iccid, s.carrier, p.monthly_fee, p.allowance_mb, p.overage_per_mb,
               {days} AS days, {ref_day} AS ref_day
        FROM sim s LEFT JOIN data_plan p ON p.id = s.plan_id
        WHERE s.carrier = :carrier
           OR s.iccid IN (SELECT l.iccid FROM statement_line l WHERE l.statement_id = :statement_id)
    ), held AS (
        SELECT b.sim_id, b.ref_day, a.device_id,
               ROW_NUMBER() OVER (PARTITION BY b.sim_id ORDER BY a.started_at DESC, a.id DESC) AS rn
        FROM base b JOIN sim_assignment a ON a.sim_id = b.sim_id AND {held_on}
    ), mounted AS (
        SELECT h.sim_id, i.truck_id,
               ROW_NUMBER() OVER (PARTITION BY h.sim_id ORDER BY i.installed_at DESC, i.id DESC) AS rn
        FROM held h JOIN installation i ON i.device_id = h.device_id AND {mounted_on}
        WHERE h.rn = 1
    )
    SELECT b.sim_id, b.iccid, b.carrier, b.monthly_fee, b.allowance_mb, b.overage_per_mb, b.days, b.ref_day,
           CASE WHEN b.days > 0 THEN {charges.plan_part_fen_sql('b.monthly_fee', 'b.days')} ELSE 0 END AS plan_fen,
           h.device_id, m.truck_id
    FROM base b
    LEFT JOIN held h ON h.sim_id = b.sim_id AND h.rn = 1
    LEFT JOIN mounted m ON m.sim_id = b.sim_id AND m.rn = 1
    """


def _line_results_sql():
    overage = charges.overage_fen_sql("x.data_kb", "x.allowance_mb", "x.overage_per_mb", "x.days")
    over_allowance = charges.over_allowance_sql("x.data_kb", "x.allowance_mb")
    tolerance = charges.MATCH_TOLERANCE_FEN
    return f"""
    INSERT INTO reconciliation_result (statement_id, line_id, sim_id, iccid, truck_id, outcome, billed, expected,
                                       difference, zero_usage_installed, over_allowance)
    SELECT :statement_id, y.line_id, y.sim_id, y.iccid, y.truck_id,
           CASE WHEN y.occurrence > 1 THEN 'duplicate_line'
                WHEN y.sim_id IS NULL THEN 'unknown_sim'
                WHEN y.days = 0 AND y.billed_fen > 0 THEN 'inactive_billed'
                WHEN y.parts_fen <> y.billed_fen THEN 'line_inconsistent'
                WHEN y.billed_fen - y.expected_fen > {tolerance} THEN 'overbilled'
                WHEN y.expected_fen - y.billed_fen > {tolerance} THEN 'underbilled'
                ELSE 'matched' END,
           y.billed_fen / 100.0, y.expected_fen / 100.0, (y.billed_fen - y.expected_fen) / 100.0,
           y.zero_usage, y.over_allowance
    FROM (
        SELECT x.line_id, x.sim_id, x.iccid, x.truck_id, x.occurrence, x.days, x.billed_fen, x.parts_fen,
               CASE WHEN x.occurrence > 1 OR x.sim_id IS NULL THEN 0 ELSE x.plan_fen + {overage} END AS expected_fen,
               CASE WHEN x.occurrence = 1 AND x.sim_id IS NOT NULL AND x.days > 0 AND x.truck_id IS NOT NULL
                         AND x.data_kb = 0 THEN TRUE ELSE FALSE END AS zero_usage,
               CASE WHEN x.occurrence = 1 AND x.sim_id IS NOT NULL THEN {over_allowance} ELSE FALSE END AS over_allowance
        FROM (
            SELECT l.id AS line_id, l.iccid, l.data_kb, r.sim_id, r.truck_id, r.days, r.plan_fen, r.allowance_mb,
                   r.overage_per_mb,
                   ROW_NUMBER() OVER (PARTITION BY l.iccid ORDER BY l.row_no) AS occurrence,
                   {charges.fen_sql('l.total_fee')} AS billed_fen,
                   {charges.fen_sql('l.plan_fee')} + {charges.fen_sql('l.overage_fee')} AS parts_fen
            FROM statement_line l LEFT JOIN recon_sim r ON r.iccid = l.iccid
            WHERE l.statement_id = :statement_id
        ) x
    ) y
    """


MISSING_SQL = """
    INSERT INTO reconciliation_result (statement_id, line_id, sim_id, iccid, truck_id, outcome, billed, expected,
                                       difference, zero_usage_installed, over_allowance)
    SELECT :statement_id, NULL, r.sim_id, r.iccid, r.truck_id, 'missing', NULL, r.plan_fen / 100.0,
           -r.plan_fen / 100.0, FALSE, FALSE
    FROM recon_sim r
    WHERE r.carrier = :carrier AND r.days > 0 AND r.plan_fen > 0
      AND NOT EXISTS (SELECT 1 FROM statement_line l WHERE l.statement_id = :statement_id AND l.iccid = r.iccid)
"""

# Reverse the older versions' entries not reversed yet (reverses_id is unique: never twice).
REVERSE_OLDER_SQL = """
    INSERT INTO ledger_entry (category, amount, period, truck_id, device_id, company_id, source_type, source_id,
                              reverses_id, note, created_at)
    SELECT e.category, -e.amount, e.period, e.truck_id, e.device_id, e.company_id, e.source_type, e.source_id, e.id,
           :note, :now
    FROM ledger_entry e
    WHERE e.source_type = 'statement_line' AND e.period = :period AND e.reverses_id IS NULL
      AND e.source_id IN (SELECT CAST(l.id AS VARCHAR(60)) FROM statement_line l
                          JOIN statement s ON s.id = l.statement_id
                          WHERE s.carrier = :carrier AND s.period = :period AND s.version < :version)
      AND NOT EXISTS (SELECT 1 FROM ledger_entry r WHERE r.reverses_id = e.id)
"""


def _book_lines_sql(category, column):
    """Book one category of every line that has no entry of it yet."""
    return f"""
    INSERT INTO ledger_entry (category, amount, period, truck_id, device_id, source_type, source_id, created_at)
    SELECT '{category}', l.{column}, :period, res.truck_id, r.device_id, 'statement_line', CAST(l.id AS VARCHAR(60)), :now
    FROM statement_line l
    JOIN reconciliation_result res ON res.line_id = l.id
    LEFT JOIN recon_sim r ON r.sim_id = res.sim_id
    WHERE l.statement_id = :statement_id AND l.{column} <> 0
      AND NOT EXISTS (SELECT 1 FROM ledger_entry e WHERE e.source_type = 'statement_line'
                      AND e.source_id = CAST(l.id AS VARCHAR(60)) AND e.category = '{category}')
    """


def _lock(dialect, statement):
    """Serialise runs of one carrier and month (the newer version must see the older one's ledger entries)."""
    if dialect == "postgresql":
        # The duplicate-line window sorts every line: in memory, not on disk (this transaction only).
        db.session.execute(text("SET LOCAL work_mem = '256MB'"))
        key = zlib.crc32(f"reconcile:{statement.carrier}:{statement.period}".encode())
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _step(progress, percent):
    if progress is not None:
        progress(percent)
    delay = current_app.config.get("RECONCILE_STEP_DELAY") or 0
    if delay:  # test-only: makes a run slow enough to be killed mid-way
        time.sleep(float(delay))


def reconcile(statement_id, progress=None):
    """Recompute the statement's results and book its ledger entries, in one transaction; returns the summary.

    ``progress(percent)`` is called between the steps (it must not write to this session).
    """
    dialect = db.engine.dialect.name
    statement = get_statement(statement_id)
    _lock(dialect, statement)
    superseded = db.session.scalar(
        select(func.count()).select_from(Statement).where(
            Statement.carrier == statement.carrier, Statement.period == statement.period,
            Statement.version > statement.version)
    ) > 0
    params = {"statement_id": statement.id, "carrier": statement.carrier, "period": statement.period,
              "version": statement.version, "now": utcnow(),
              "note": f"statement {statement.id} (v{statement.version}) supersedes it",
              **charges.month_params(statement.period)}
    _step(progress, 5)
    if dialect != "postgresql":
        _run("DROP TABLE IF EXISTS temp.recon_sim", {})
    _run("DELETE FROM reconciliation_result WHERE statement_id = :statement_id", params)
    _run(_sim_month_sql(dialect), params)
    if dialect == "postgresql":
        _run("ANALYZE recon_sim", {})
    _step(progress, 20)
    _run(_line_results_sql(), params)
    _step(progress, 45)
    _run(MISSING_SQL, params)
    _step(progress, 60)
    if not superseded:
        _run(REVERSE_OLDER_SQL, params)
        _step(progress, 75)
        _run(_book_lines_sql("sim_plan_fee", "plan_fee"), params)
        _run(_book_lines_sql("sim_overage", "overage_fee"), params)
    _step(progress, 90)
    if dialect != "postgresql":
        _run("DROP TABLE temp.recon_sim", {})
    _finish(statement, superseded)
    db.session.commit()
    return summary(statement.id)


def _finish(statement, superseded):
    """Totals and state of the statement, in the run's transaction."""
    from .models import ReconciliationResult

    lines = db.session.execute(
        select(func.count(), func.coalesce(func.sum(text(charges.fen_sql("total_fee"))), 0))
        .select_from(StatementLine).where(StatementLine.statement_id == statement.id)
    ).one()
    expected_fen = db.session.scalar(
        select(func.coalesce(func.sum(text(charges.fen_sql("expected"))), 0))
        .select_from(ReconciliationResult).where(ReconciliationResult.statement_id == statement.id)
    )
    statement.line_count = lines[0]
    statement.billed_total = charges.cny(lines[1])
    statement.expected_total = charges.cny(expected_fen)
    statement.status = "superseded" if superseded or statement.status == "superseded" else "done"
    statement.progress = 100
    statement.error = None
    statement.finished_at = utcnow()


def rerun(statement_id):
    """Queue the statement's reconciliation again (inline without Redis); Redis down: it stays queued for the sweep."""
    from .statements import enqueue_reconciliation

    statement = get_statement(statement_id)
    if statement.status != "superseded":
        statement.status = "queued"
    db.session.commit()
    enqueue_reconciliation(statement.id)
    db.session.expire_all()
    return get_statement(statement_id)
