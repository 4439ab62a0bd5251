"""The expected SIM charge: hand-computed cases, and the SQL version agreeing with Python on the database."""
import datetime as dt
import random
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import Date, bindparam, insert, text

from insurer_dms.extensions import db
from insurer_dms.sims import charges
from insurer_dms.sims.models import DataPlan, Sim, StatementLine
from tests import statement_factories as sf
from tests.install_factories import iccid, msisdn

D = Decimal
PLAN = SimpleNamespace(monthly_fee=D("30.00"), allowance_mb=1024, overage_per_mb=D("0.29"))
SEP = "2026-09"  # 30 days


def charge(status="active", activated_on=dt.date(2025, 1, 1), deactivated_on=None, period=SEP, data_kb=0, plan=PLAN):
    return charges.expected_charge(plan, status, activated_on, deactivated_on, period, data_kb)


def test_a_sim_active_all_month_costs_the_monthly_fee():
    assert charge() == (30, D("30.00"), D("0.00"), D("30.00"))


def test_activated_on_the_10th_of_a_30_day_month_counts_21_days():
    result = charge(activated_on=dt.date(2026, 9, 10))
    assert result.active_days == 21
    assert result.plan_part == D("21.00")  # 30.00 x 21 / 30


def test_deactivated_on_the_20th_counts_the_20th():
    result = charge(status="retired", deactivated_on=dt.date(2026, 9, 20))
    assert result.active_days == 20
    assert result.total == D("20.00")


def test_activated_and_deactivated_the_same_day_is_one_day():
    day = dt.date(2026, 9, 15)
    assert charge(status="suspended", activated_on=day, deactivated_on=day).active_days == 1


def test_mid_month_activation_and_deactivation_in_a_31_day_month():
    result = charge(status="suspended", activated_on=dt.date(2026, 10, 5), deactivated_on=dt.date(2026, 10, 24),
                    period="2026-10")
    assert result.active_days == 20
    assert result.plan_part == D("19.35")  # 30 x 20 / 31 = 19.3548...


def test_proration_rounds_half_up_at_half_a_fen():
    # 10.01 x 15 / 30 = 5.005 exactly: half-up gives 5.01 (banker's rounding would give 5.00)
    plan = SimpleNamespace(monthly_fee=D("10.01"), allowance_mb=1024, overage_per_mb=D("0.29"))
    assert charge(activated_on=dt.date(2026, 9, 16), plan=plan).plan_part == D("5.01")
    # 10.03 x 15 / 30 = 5.015 -> 5.02; 10.00 x 1 / 30 = 0.3333 -> 0.33
    plan.monthly_fee = D("10.03")
    assert charge(activated_on=dt.date(2026, 9, 16), plan=plan).plan_part == D("5.02")
    plan.monthly_fee = D("10.00")
    assert charge(activated_on=dt.date(2026, 9, 30), plan=plan).plan_part == D("0.33")


def test_february_of_a_leap_year_has_29_days():
    assert charges.month("2024-02").days == 29
    assert charge(activated_on=dt.date(2024, 2, 15), period="2024-02").active_days == 15


def test_usage_of_exactly_the_allowance_costs_no_overage():
    assert charge(data_kb=1024 * 1024).overage_part == D("0.00")


def test_one_kb_over_the_allowance_is_charged_one_started_mb():
    assert charge(data_kb=1024 * 1024 + 1).overage_part == D("0.29")
    assert charge(data_kb=1024 * 1024 + 1024).overage_part == D("0.29")
    assert charge(data_kb=1024 * 1024 + 1025).overage_part == D("0.58")


def test_overage_uses_the_full_allowance_even_for_a_partial_month():
    result = charge(activated_on=dt.date(2026, 9, 16), data_kb=1024 * 1024 + 10 * 1024)
    assert result == (15, D("15.00"), D("2.90"), D("17.90"))


@pytest.mark.parametrize("status,activated_on,deactivated_on", [
    ("in_stock", None, None),
    ("active", None, None),  # never activated
    ("active", dt.date(2026, 10, 1), None),  # activated after the month
    ("retired", dt.date(2025, 1, 1), dt.date(2026, 8, 31)),  # retired before the month
    ("suspended", dt.date(2025, 1, 1), None),  # suspended, date unknown: not in service
])
def test_a_sim_not_in_service_that_month_owes_nothing_even_with_usage(status, activated_on, deactivated_on):
    assert charge(status, activated_on, deactivated_on, data_kb=5 * 1024 * 1024) == (0, D("0.00"), D("0.00"), D("0.00"))


def test_a_sim_without_a_plan_is_expected_to_cost_nothing():
    assert charge(plan=None, data_kb=10**9).total == D("0.00")


def test_over_allowance_is_more_than_one_and_a_half_times_the_allowance():
    assert not charges.over_allowance(1536 * 1024, 1024)
    assert charges.over_allowance(1536 * 1024 + 1, 1024)


def test_the_reference_day_is_the_last_active_day_of_the_month():
    assert charges.reference_day(None, SEP) == dt.date(2026, 9, 30)
    assert charges.reference_day(dt.date(2026, 9, 12), SEP) == dt.date(2026, 9, 12)
    assert charges.reference_day(dt.date(2026, 8, 12), SEP) == dt.date(2026, 9, 30)


# ---- SQL and Python agree ------------------------------------------------------------------------------------

def _random_cases(rng, count):
    fees = ["0.00", "10.00", "10.01", "10.03", "19.99", "20.00", "45.50", "99.95", "0.07", "1234.56"]
    plans = [DataPlan(carrier="china_mobile", code=f"R{i}", name="r", monthly_fee=D(rng.choice(fees)),
                      allowance_mb=rng.choice([0, 1, 100, 1024, 3072, 10240]),
                      overage_per_mb=D(rng.choice(["0.00", "0.10", "0.29", "0.05", "1.99"])),
                      valid_from=dt.date(2021, 1, 1)) for i in range(12)]
    db.session.add_all(plans)
    db.session.flush()
    base = dt.date(2024, 1, 1)
    rows = []
    for i in range(count):
        status = rng.choice(["in_stock", "active", "active", "active", "suspended", "retired"])
        activated = None if rng.random() < 0.08 else base + dt.timedelta(days=rng.randrange(0, 1100))
        deactivated = None
        if status in ("suspended", "retired") and rng.random() < 0.9:
            deactivated = base + dt.timedelta(days=rng.randrange(0, 1100))
        rows.append({"iccid": iccid(900_000 + i), "msisdn": msisdn(900_000 + i), "carrier": "china_mobile",
                     "status": status, "activated_on": activated, "deactivated_on": deactivated,
                     "plan_id": None if rng.random() < 0.05 else rng.choice(plans).id})
    db.session.execute(insert(Sim), rows)
    st = sf.statement([])
    kbs = [rng.choice([0, 1, 1024 * 1024, 1024 * 1024 + 1, rng.randrange(0, 20 * 1024 * 1024)]) for _ in rows]
    db.session.execute(insert(StatementLine), [
        {"statement_id": st.id, "row_no": i + 2, "iccid": r["iccid"], "data_kb": kb, "sms_count": 0,
         "plan_fee": D("0"), "overage_fee": D("0"), "total_fee": D("0")} for i, (r, kb) in enumerate(zip(rows, kbs))])
    db.session.commit()
    return st, {p.id: p for p in plans}


def test_sql_and_python_give_the_same_charge_on_the_database(ctx):
    rng = random.Random(20260901)
    st, plans = _random_cases(rng, 600)
    dialect = db.engine.dialect.name
    days = charges.active_days_sql(dialect, "s.status", "s.activated_on", "s.deactivated_on")
    sql = text(f"""
        SELECT x.status, x.activated_on, x.deactivated_on, x.plan_id, x.data_kb, x.days, x.ref_day,
               CASE WHEN x.days > 0 THEN {charges.plan_part_fen_sql('x.monthly_fen', 'x.days')} ELSE 0 END AS plan_fen,
               {charges.overage_fen_sql('x.data_kb', 'x.allowance_mb', 'x.overage_fen', 'x.days')} AS overage_fen,
               {charges.over_allowance_sql('x.data_kb', 'x.allowance_mb')} AS over
        FROM (SELECT s.status, s.activated_on, s.deactivated_on, s.plan_id, l.data_kb, p.monthly_fen, p.allowance_mb,
                     p.overage_fen, {days} AS days, {charges.reference_day_sql('s.deactivated_on')} AS ref_day
              FROM sim s JOIN statement_line l ON l.iccid = s.iccid AND l.statement_id = :statement_id
              LEFT JOIN {charges.plans_in_fen_sql(dialect)} p ON p.id = s.plan_id) x
    """).bindparams(bindparam("month_first", type_=Date()), bindparam("month_last", type_=Date()))
    checked = 0
    for period in ("2026-09", "2024-02", "2025-02", "2025-12", "2026-04"):
        rows = db.session.execute(sql, {"statement_id": st.id, **charges.month_params(period)}).all()
        assert len(rows) == 600
        for status, act, deact, plan_id, kb, days_sql, ref_day, plan_fen, overage_fen, over in rows:
            act, deact = _date(act), _date(deact)
            plan = plans.get(plan_id)
            expected = charges.expected_charge(plan, status, act, deact, period, kb)
            case = (status, act, deact, plan_id, kb, period)
            assert days_sql == expected.active_days, case
            assert charges.cny(plan_fen) == expected.plan_part, case
            assert charges.cny(overage_fen) == expected.overage_part, case
            assert _date(ref_day) == charges.reference_day(deact, period), case
            assert bool(over) == (plan is not None and charges.over_allowance(kb, plan.allowance_mb)), case
            checked += 1
    assert checked == 3000


def _date(value):
    return dt.date.fromisoformat(value) if isinstance(value, str) else value
