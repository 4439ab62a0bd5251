"""Reconciling a statement: every outcome and flag by hand, trucks, the ledger, versions and re-runs."""
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from insurer_dms.extensions import db
from insurer_dms.ledger.models import LedgerEntry
from insurer_dms.sims import reconciliation, reconciliation_report
from insurer_dms.sims.models import ReconciliationResult, SimAssignment, Statement, StatementLine
from tests import install_factories as inst
from tests import statement_factories as sf

D = Decimal
CN = ZoneInfo("Asia/Shanghai")
GB = 1024 * 1024  # KB


def results(statement_id):
    """Every result of the statement as the API sees it (plain matches are not stored: the query adds them)."""
    return db.session.execute(reconciliation_report.results_query(statement_id)).all()


def by_iccid(statement_id):
    found = {}
    for r in sorted(results(statement_id), key=lambda r: (r.line_id is None, r.line_id)):
        found.setdefault(r.iccid, []).append(r)
    return found


def snapshot(statement_id):
    """Everything a run decides, without the generated ids."""
    rows = [(r.line_id, r.sim_id, r.iccid, r.truck_id, r.outcome, r.billed, r.expected, r.difference,
             r.zero_usage_installed, r.over_allowance) for r in results(statement_id)]
    return sorted(rows, key=repr)


# The SIM bill's entries (the test devices' purchases are in the ledger too).
SIM_ENTRIES = LedgerEntry.source_type == "statement_line"


def ledger_total():
    return db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(SIM_ENTRIES)) or D("0")


def installed_sim(data_plan, truck=None):
    """An active SIM on ``data_plan`` in a device installed on a truck (since May 2024)."""
    order = inst.installed_directly(truck=truck)
    order.sim.plan_id = data_plan.id
    db.session.commit()
    return order.sim, order.truck_id


@pytest.fixture
def month(ctx):
    """The hand-computed September 2026 (30 days) of a 30.00 CNY, 1 GB, 0.29/MB plan."""
    plan = sf.plan(fee="30.00", allowance_mb=1024, overage="0.29")
    s = {
        "matched": sf.sim(plan),
        "over": sf.sim(plan),
        "prorated": sf.sim(plan, activated_on=dt.date(2026, 9, 10)),  # 21 days: 21.00
        "under": sf.sim(plan, status="retired", deactivated_on=dt.date(2026, 9, 20)),  # 20 days: 20.00
        "inactive": sf.sim(plan, status="retired", deactivated_on=dt.date(2026, 8, 15)),
        "missing": sf.sim(plan),
        "one_kb_over": sf.sim(plan),
        "heavy": sf.sim(plan),
        "inconsistent": sf.sim(plan),
        "never": sf.sim(plan, status="in_stock", activated_on=None),  # not billed, not missing
        "free": sf.sim(sf.plan(fee="0.00")),  # not billed, expected 0: not missing
    }
    s["installed_zero"], truck_zero = installed_sim(plan)
    s["installed_ok"], truck_ok = installed_sim(plan)
    unknown = inst.iccid(777_777)
    lines = [
        sf.line(s["matched"].iccid, "30.00", data_kb=500 * 1024),  # row 2
        sf.line(s["over"].iccid, "35.00"),  # row 3
        sf.line(s["prorated"].iccid, "21.00"),  # row 4
        sf.line(s["under"].iccid, "15.00"),  # row 5
        sf.line(s["inactive"].iccid, "30.00"),  # row 6
        sf.line(unknown, "30.00"),  # row 7
        sf.line(s["one_kb_over"].iccid, "30.00", "0.29", data_kb=GB + 1),  # row 8
        sf.line(s["heavy"].iccid, "30.00", "296.96", data_kb=2 * GB),  # row 9: 1024 MB over x 0.29
        sf.line(s["matched"].iccid, "30.00"),  # row 10: duplicate of row 2
        sf.line(s["inconsistent"].iccid, "30.00", "0.00", total_fee="31.00"),  # row 11
        sf.line(s["installed_zero"].iccid, "30.00", data_kb=0),  # row 12
        sf.line(s["installed_ok"].iccid, "30.00", data_kb=10 * 1024),  # row 13
    ]
    statement = sf.statement(lines)
    return {"plan": plan, "sims": s, "unknown": unknown, "lines": lines, "statement": statement,
            "trucks": {"zero": truck_zero, "ok": truck_ok}}


def outcome_of(found, sim):
    (first, *_rest) = found[sim.iccid]
    return first.outcome, first.billed, first.expected, first.difference


def test_every_outcome_is_computed_by_hand(month):
    summary = reconciliation.reconcile(month["statement"].id)
    found = by_iccid(month["statement"].id)
    s = month["sims"]
    assert outcome_of(found, s["matched"]) == ("matched", D("30.00"), D("30.00"), D("0.00"))
    assert outcome_of(found, s["over"]) == ("overbilled", D("35.00"), D("30.00"), D("5.00"))
    assert outcome_of(found, s["prorated"]) == ("matched", D("21.00"), D("21.00"), D("0.00"))
    assert outcome_of(found, s["under"]) == ("underbilled", D("15.00"), D("20.00"), D("-5.00"))
    assert outcome_of(found, s["inactive"]) == ("inactive_billed", D("30.00"), D("0.00"), D("30.00"))
    assert [(r.outcome, r.sim_id, r.expected) for r in found[month["unknown"]]] == [("unknown_sim", None, D("0.00"))]
    assert outcome_of(found, s["one_kb_over"]) == ("matched", D("30.29"), D("30.29"), D("0.00"))
    assert outcome_of(found, s["heavy"]) == ("matched", D("326.96"), D("326.96"), D("0.00"))
    assert [r.outcome for r in found[s["matched"].iccid]] == ["matched", "duplicate_line"]
    dup = found[s["matched"].iccid][1]
    assert (dup.billed, dup.expected, dup.difference) == (D("30.00"), D("0.00"), D("30.00"))
    assert outcome_of(found, s["inconsistent"]) == ("line_inconsistent", D("31.00"), D("30.00"), D("1.00"))
    missing = found[s["missing"].iccid][0]
    assert (missing.outcome, missing.line_id, missing.billed, missing.expected, missing.difference) == (
        "missing", None, None, D("30.00"), D("-30.00"))
    assert s["never"].iccid not in found and s["free"].iccid not in found
    # flags
    assert found[s["installed_zero"].iccid][0].zero_usage_installed is True
    assert found[s["installed_zero"].iccid][0].truck_id == month["trucks"]["zero"]
    assert found[s["installed_ok"].iccid][0].zero_usage_installed is False
    assert found[s["installed_ok"].iccid][0].truck_id == month["trucks"]["ok"]
    assert found[s["over"].iccid][0].zero_usage_installed is False  # 0 KB but in no device
    assert found[s["heavy"].iccid][0].over_allowance is True
    assert found[s["one_kb_over"].iccid][0].over_allowance is False
    # summary
    assert summary["lines"] == 12
    assert summary["billed_total"] == D("35.00") + D("21.00") + D("15.00") + D("30.29") + D("326.96") + D("31.00") + 6 * D("30.00")
    assert summary["expected_total"] == D("30.00") * 6 + D("21.00") + D("20.00") + D("30.29") + D("326.96")
    counts = {o: t["count"] for o, t in summary["outcomes"].items()}
    assert counts == {"matched": 6, "overbilled": 1, "underbilled": 1, "unknown_sim": 1, "inactive_billed": 1,
                      "missing": 1, "duplicate_line": 1, "line_inconsistent": 1}
    assert summary["flags"] == {"zero_usage_installed": 1, "over_allowance": 1}
    # overbilled 5 + inactive 30 + unknown 30 + duplicate 30 + inconsistent 1
    assert summary["amount_in_dispute"] == D("96.00")
    assert summary["outcomes"]["missing"]["difference"] == D("-30.00")
    statement = db.session.get(Statement, month["statement"].id)
    assert (statement.status, statement.progress, statement.line_count) == ("done", 100, 12)
    assert statement.expected_total == summary["expected_total"] and statement.finished_at is not None


def test_the_ledger_books_every_lines_billed_amounts_to_its_truck(month):
    reconciliation.reconcile(month["statement"].id)
    parts = sum(ln["plan_fee"] + ln["overage_fee"] for ln in month["lines"])
    assert ledger_total() == parts  # the inconsistent line books its parts (30.00), not its total (31.00)
    by_category = dict(db.session.execute(select(LedgerEntry.category, func.sum(LedgerEntry.amount)).where(SIM_ENTRIES)
                                          .group_by(LedgerEntry.category)).all())
    assert by_category == {"sim_plan_fee": sum(ln["plan_fee"] for ln in month["lines"]),
                           "sim_overage": D("0.29") + D("296.96")}
    zero_sim = month["sims"]["installed_zero"]
    (entry,) = db.session.scalars(select(LedgerEntry).where(LedgerEntry.truck_id == month["trucks"]["zero"])).all()
    assert (entry.category, entry.amount, entry.period, entry.source_type) == ("sim_plan_fee", D("30.00"), "2026-09", "statement_line")
    assert entry.device_id == db.session.scalar(select(SimAssignment.device_id).where(SimAssignment.sim_id == zero_sim.id))
    unknown = db.session.scalars(select(LedgerEntry).where(LedgerEntry.truck_id.is_(None), SIM_ENTRIES)).all()
    assert len(unknown) == 12  # every other line has no truck (one entry each, plus the two overage entries)


def test_rerunning_gives_identical_results_and_books_nothing_twice(month):
    st = month["statement"].id
    assert db.session.get(Statement, st).booked_at is None
    first = reconciliation.reconcile(st)
    booked_at = db.session.get(Statement, st).booked_at
    assert booked_at is not None  # the first run booked the lines
    before = snapshot(st)
    entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    second = reconciliation.reconcile(st)
    assert snapshot(st) == before
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == entries
    assert db.session.get(Statement, st).booked_at == booked_at
    assert {k: v for k, v in first.items() if k != "finished_at"} == {k: v for k, v in second.items() if k != "finished_at"}


def test_a_superseding_version_reverses_the_old_ledger_and_keeps_its_results(ctx):
    plan = sf.plan(fee="20.00")
    a, b = sf.sim(plan), sf.sim(plan)
    v1 = sf.statement([sf.line(a.iccid, "20.00"), sf.line(b.iccid, "25.00")])
    reconciliation.reconcile(v1.id)
    assert ledger_total() == D("45.00")
    v2 = sf.statement([sf.line(a.iccid, "20.00"), sf.line(b.iccid, "20.00")])
    reconciliation.reconcile(v2.id)
    assert ledger_total() == D("40.00")  # the new version only
    old_entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.reverses_id.is_(None), LedgerEntry.amount > 0)
                                     .order_by(LedgerEntry.id)).all()
    assert len(old_entries) == 4
    reversals = db.session.scalars(select(LedgerEntry).where(LedgerEntry.reverses_id.is_not(None))).all()
    assert sorted((r.reverses_id, r.amount) for r in reversals) == sorted(
        (e.id, -e.amount) for e in old_entries[:2])
    assert db.session.get(Statement, v1.id).status == "superseded"
    assert [res.outcome for rows in by_iccid(v1.id).values() for res in rows] == ["matched", "overbilled"]
    # re-running either version changes nothing in the ledger
    count = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    reconciliation.reconcile(v2.id)
    reconciliation.reconcile(v1.id)
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == count
    assert ledger_total() == D("40.00")
    assert db.session.get(Statement, v1.id).status == "superseded"


def test_an_old_version_run_after_the_new_one_books_nothing(ctx):
    plan = sf.plan(fee="20.00")
    a = sf.sim(plan)
    v1 = sf.statement([sf.line(a.iccid, "20.00")])
    v2 = sf.statement([sf.line(a.iccid, "18.00")])
    reconciliation.reconcile(v2.id)
    reconciliation.reconcile(v1.id)  # delivered late
    assert ledger_total() == D("18.00")
    assert db.session.get(Statement, v1.id).status == "superseded"
    assert db.session.get(Statement, v1.id).booked_at is None and db.session.get(Statement, v2.id).booked_at is not None


def test_a_third_version_reverses_only_what_is_still_booked(ctx):
    plan = sf.plan(fee="20.00")
    a = sf.sim(plan)
    for fee in ("21.00", "22.00", "20.00"):
        reconciliation.reconcile(sf.statement([sf.line(a.iccid, fee)]).id)
    assert ledger_total() == D("20.00")
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 5  # 3 bookings, 2 reversals


def _at(day, hour=10):
    return dt.datetime.combine(day, dt.time(hour), tzinfo=CN)


def test_the_truck_is_the_one_holding_the_sim_on_its_last_active_day(ctx):
    plan = sf.plan(fee="30.00")
    # Moved mid-month: from truck A's device to truck B's device on 6 September.
    moved, truck_a = installed_sim(plan)
    target = inst.installed_directly()
    other_sim_assignment = db.session.scalar(select(SimAssignment).where(SimAssignment.device_id == target.device_id))
    other_sim_assignment.ended_at = _at(dt.date(2026, 9, 6), 8)
    db.session.scalar(select(SimAssignment).where(SimAssignment.sim_id == moved.id)).ended_at = _at(dt.date(2026, 9, 5))
    db.session.add(SimAssignment(sim_id=moved.id, device_id=target.device_id, started_at=_at(dt.date(2026, 9, 6), 9)))
    # Retired on 12 September; its device came off truck C on the 20th: still truck C.
    retired, truck_c = installed_sim(plan)
    retired.status, retired.deactivated_on = "retired", dt.date(2026, 9, 12)
    from insurer_dms.installs.models import Installation

    db.session.scalar(select(Installation).where(Installation.truck_id == truck_c)).removed_at = _at(dt.date(2026, 9, 20))
    # Device removed from truck D on 30 September at 23:30 Chaozhou time (15:30 UTC): still on it that day.
    late, truck_d = installed_sim(plan)
    db.session.scalar(select(Installation).where(Installation.truck_id == truck_d)).removed_at = _at(dt.date(2026, 9, 30), 23)
    # Removed on 29 September: no truck at the month's end, and 0 KB is no longer "installed".
    gone, truck_e = installed_sim(plan)
    db.session.scalar(select(Installation).where(Installation.truck_id == truck_e)).removed_at = _at(dt.date(2026, 9, 29))
    db.session.commit()
    st = sf.statement([sf.line(moved.iccid, "30.00"), sf.line(retired.iccid, "12.00"), sf.line(late.iccid, "30.00"),
                       sf.line(gone.iccid, "30.00", data_kb=0)])
    reconciliation.reconcile(st.id)
    found = by_iccid(st.id)
    assert found[moved.iccid][0].truck_id == target.truck_id != truck_a
    assert (found[retired.iccid][0].truck_id, found[retired.iccid][0].outcome) == (truck_c, "matched")
    assert found[late.iccid][0].truck_id == truck_d
    assert (found[gone.iccid][0].truck_id, found[gone.iccid][0].zero_usage_installed) == (None, False)
    assert {e.truck_id for e in db.session.scalars(select(LedgerEntry))} == {target.truck_id, truck_c, truck_d, None}


def test_an_empty_statement_marks_every_active_sim_missing(ctx):
    plan = sf.plan(fee="10.00")
    a = sf.sim(plan, activated_on=dt.date(2026, 9, 16))  # 15 days: 5.00
    st = sf.statement([])
    summary = reconciliation.reconcile(st.id)
    (result,) = db.session.scalars(select(ReconciliationResult)).all()
    assert (result.sim_id, result.outcome, result.expected) == (a.id, "missing", D("5.00"))
    assert summary["expected_total"] == D("5.00") and summary["billed_total"] == D("0.00")
    assert ledger_total() == 0


def test_sims_of_another_carrier_are_not_missing_from_this_statement(ctx):
    from insurer_dms.sims.models import Sim

    plan = sf.plan(fee="10.00", carrier="china_unicom")
    db.session.add(Sim(iccid=inst.iccid(123, prefix="898601"), msisdn=inst.msisdn(99123), carrier="china_unicom",
                       status="active", plan_id=plan.id, activated_on=dt.date(2025, 1, 1)))
    db.session.commit()
    st = sf.statement([])
    reconciliation.reconcile(st.id)
    assert db.session.scalar(select(func.count()).select_from(ReconciliationResult)) == 0


def test_a_failing_run_leaves_nothing_behind(month, monkeypatch):
    st = month["statement"].id

    def boom(percent):
        if percent >= 75:
            raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        reconciliation.reconcile(st, progress=boom)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ReconciliationResult)) == 0
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(SIM_ENTRIES)) == 0
    assert db.session.get(Statement, st).finished_at is None
    reconciliation.reconcile(st)
    assert len(results(st)) == 13


def a_clean_run(statement_id):
    """(results, SIM ledger total) of the statement after a run from nothing (the tests' reset: the ledger refuses
    DELETE, so the whole table is emptied)."""
    from sqlalchemy import delete, text, update

    db.session.execute(text("TRUNCATE ledger_entry CASCADE" if db.engine.dialect.name == "postgresql"
                            else "DELETE FROM ledger_entry"))
    db.session.execute(delete(ReconciliationResult))
    db.session.execute(update(Statement).where(Statement.id == statement_id).values(booked_at=None))
    db.session.commit()
    reconciliation.reconcile(statement_id)
    return snapshot(statement_id), ledger_total()


def test_an_error_writing_the_results_books_nothing(month, monkeypatch):
    st = month["statement"].id
    write_results = reconciliation._write_results

    def written_then_broken(*args, **kwargs):
        write_results(*args, **kwargs)  # on PostgreSQL on the second connection, beside the booking
        raise RuntimeError("the results' connection went away")

    monkeypatch.setattr(reconciliation, "_write_results", written_then_broken)
    with pytest.raises(RuntimeError, match="results' connection"):
        reconciliation.reconcile(st)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ReconciliationResult)) == 0
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(SIM_ENTRIES)) == 0
    statement = db.session.get(Statement, st)
    assert (statement.booked_at, statement.finished_at) == (None, None)


def test_a_run_that_fails_between_its_two_commits_is_completed_by_the_rerun(month, monkeypatch):
    """PostgreSQL commits the results a moment before the ledger; a failure (or a kill) in between leaves new results
    of a statement that is not done and an untouched ledger, and the re-run books it once."""
    st = month["statement"].id
    finish = reconciliation._finish

    def broken(*args):
        raise RuntimeError("killed between the commits")

    monkeypatch.setattr(reconciliation, "_finish", broken)
    with pytest.raises(RuntimeError):
        reconciliation.reconcile(st)
    db.session.rollback()
    stored = db.session.scalar(select(func.count()).select_from(ReconciliationResult))
    # the results' own transaction was committed on PostgreSQL; SQLite had one transaction for both
    assert stored > 0 if db.engine.dialect.name == "postgresql" else stored == 0
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry).where(SIM_ENTRIES)) == 0
    statement = db.session.get(Statement, st)
    assert (statement.status, statement.booked_at, statement.finished_at) == ("queued", None, None)

    monkeypatch.setattr(reconciliation, "_finish", finish)
    reconciliation.reconcile(st)  # the sweep's (or the retry's) re-run
    after = snapshot(st), ledger_total()
    assert db.session.get(Statement, st).status == "done"
    billed_parts = db.session.scalar(select(func.sum(StatementLine.plan_fee + StatementLine.overage_fee))
                                     .where(StatementLine.statement_id == st))
    assert after[1] == billed_parts  # booked once
    assert after == a_clean_run(st)


def test_an_uploaded_statement_is_reconciled_and_a_new_version_replaces_its_ledger(ctx):
    from insurer_dms.sims.statements import ingest_statement

    plan = sf.plan(fee="10.00")
    a, b = sf.sim(plan), sf.sim(plan)
    header = "ICCID,号码,账期,使用流量(KB),短信(条),套餐费(元),超套费(元),合计(元)\n"
    first = header + f"{a.iccid},{a.msisdn},2026-09,100,0,10.00,0.00,10.00\n{b.iccid},{b.msisdn},2026-09,0,0,12.00,0.00,12.00\n"
    v1, created = ingest_statement(("\ufeff" + first).encode("utf-8"), "cm-2026-09.csv")
    assert created and v1.status == "done"  # no Redis in the tests: reconciled inline
    assert ledger_total() == D("22.00")
    assert reconciliation.summary(v1.id)["outcomes"]["overbilled"]["count"] == 1
    second = header + f"{a.iccid},{a.msisdn},2026-09,100,0,10.00,0.00,10.00\n{b.iccid},{b.msisdn},2026-09,0,0,10.00,0.00,10.00\n"
    v2, created = ingest_statement(second.encode("utf-8"), "cm-2026-09-corrected.csv")
    assert (v2.version, v2.status) == (2, "done")
    assert ledger_total() == D("20.00")
    assert db.session.get(Statement, v1.id).status == "superseded"
    again, created = ingest_statement(second.encode("utf-8"), "cm-2026-09-corrected.csv")
    assert (again.id, created) == (v2.id, False)
    assert ledger_total() == D("20.00")
