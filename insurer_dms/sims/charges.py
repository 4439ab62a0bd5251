"""The expected SIM charge for one month: the rules in one place, in Python (one SIM) and SQL (every SIM at once).

For a SIM on a data plan, in the month M of a statement (``period`` YYYY-MM, D = days in M):

* active days = the days of M inside [activated_on, deactivated_on], **both ends inclusive** (a SIM activated on
  the 10th of a 30-day month has 21 active days; one deactivated on the 20th has 20; activated and deactivated on
  the same day: 1). No active day when the SIM is ``in_stock`` or has no activation date, was activated after M,
  was deactivated before M or before its activation, or is suspended/retired without a deactivation date.
* plan part = monthly_fee x active days / D, rounded half-up to 0.01 CNY.
* overage part = ceil(max(0, data_kb - allowance_mb x 1024) / 1024) x overage_per_mb (every started MB beyond the
  full monthly allowance); nothing when the SIM had no active day (a SIM out of service owes nothing).
* expected = plan part + overage part. A SIM without a plan is expected to cost 0.00.
* the reference day (whose device and truck a line is booked to) = the last active day: deactivated_on when it
  falls in M, else the last day of M (also the last day of M when the SIM had no active day in M).

All money arithmetic is done in integer fen (CNY x 100), in Python and in SQL, so PostgreSQL and SQLite (whose
NUMERIC is a float) give the very same cents. Half-up rounding of a non-negative a/b in integers is (2a + b) // 2b.
"""
import calendar
import datetime as dt
from decimal import Decimal
from typing import NamedTuple

CENT = Decimal("0.01")
MATCH_TOLERANCE_FEN = 1  # |billed - expected| <= 0.01 CNY is a match
OVER_ALLOWANCE_FACTOR = (3, 2)  # over_allowance: data_kb > 1.5 x allowance (as the integer ratio 3/2)


class Month(NamedTuple):
    first: dt.date
    last: dt.date
    days: int


class Charge(NamedTuple):
    active_days: int
    plan_part: Decimal
    overage_part: Decimal
    total: Decimal


def month(period):
    """First day, last day and number of days of ``period`` (YYYY-MM)."""
    year, mon = (int(part) for part in period.split("-"))
    days = calendar.monthrange(year, mon)[1]
    return Month(dt.date(year, mon, 1), dt.date(year, mon, days), days)


def fen(amount):
    """Integer fen of a CNY amount (Decimal, str or int)."""
    return int((Decimal(str(amount)) * 100).quantize(Decimal(1)))


def cny(fen_amount):
    """CNY Decimal with two places from integer fen."""
    return (Decimal(int(fen_amount)) / 100).quantize(CENT)


def active_days(status, activated_on, deactivated_on, period):
    """Days of ``period`` on which the SIM was in service (both ends of [activated_on, deactivated_on] count)."""
    m = month(period)
    if status == "in_stock" or activated_on is None or activated_on > m.last:
        return 0
    if deactivated_on is None:
        if status != "active":
            return 0
        end = m.last
    else:
        if deactivated_on < m.first or deactivated_on < activated_on:
            return 0
        end = min(deactivated_on, m.last)
    start = max(activated_on, m.first)
    return (end - start).days + 1


def reference_day(deactivated_on, period):
    """The last active day of the month (deactivated_on when in the month, else the month's last day)."""
    m = month(period)
    if deactivated_on is not None and m.first <= deactivated_on <= m.last:
        return deactivated_on
    return m.last


def plan_part_fen(monthly_fee_fen, days, days_in_month):
    """monthly fee x days / days in month, half-up to the fen."""
    return (2 * monthly_fee_fen * days + days_in_month) // (2 * days_in_month)


def overage_mb(data_kb, allowance_mb):
    """Started MB beyond the allowance: ceil(max(0, data_kb - allowance_mb x 1024) / 1024)."""
    excess = data_kb - allowance_mb * 1024
    return (excess + 1023) // 1024 if excess > 0 else 0


def over_allowance(data_kb, allowance_mb):
    """More than 1.5 x the monthly allowance used."""
    num, den = OVER_ALLOWANCE_FACTOR
    return den * data_kb > num * allowance_mb * 1024


def expected_charge(plan, status, activated_on, deactivated_on, period, data_kb):
    """The expected charge of one SIM for ``period``: Charge(active_days, plan_part, overage_part, total)."""
    days = active_days(status, activated_on, deactivated_on, period)
    if plan is None or days == 0:
        return Charge(days, cny(0), cny(0), cny(0))
    plan_fen = plan_part_fen(fen(plan.monthly_fee), days, month(period).days)
    overage_fen = overage_mb(data_kb or 0, plan.allowance_mb) * fen(plan.overage_per_mb)
    return Charge(days, cny(plan_fen), cny(overage_fen), cny(plan_fen + overage_fen))


# ---- the same rules as SQL fragments (PostgreSQL and SQLite) -------------------------------------------------
# Bind parameters used by the fragments: :month_first, :month_last (dates), :days_in_month (integer).


def fen_sql(amount, dialect=None):
    """Integer fen of a money column. PostgreSQL's NUMERIC is exact, so x 100 is already whole and the cast is
    enough (a ROUND per value cost a million-line statement about a quarter of a second); SQLite keeps NUMERIC as a
    float, so it (and an unnamed dialect) rounds first."""
    if dialect == "postgresql":
        return f"CAST({amount} * 100 AS BIGINT)"
    return f"CAST(ROUND({amount} * 100) AS BIGINT)"


def plans_in_fen_sql(dialect):
    """A subquery of every data plan with its money in fen (``id, monthly_fen, allowance_mb, overage_fen``): join it
    instead of data_plan so that the fen of a plan's fees are computed once per plan, not once per SIM."""
    return (f"(SELECT id, {fen_sql('monthly_fee', dialect)} AS monthly_fen, allowance_mb,"
            f" {fen_sql('overage_per_mb', dialect)} AS overage_fen FROM data_plan)")


def day_in_month_sql(dialect, day):
    """The day's number in the month of :month_first (``day`` must fall in that month)."""
    if dialect == "postgresql":
        return f"({day} - :month_first + 1)"  # date - date is a whole number of days
    return f"CAST(strftime('%d', {day}) AS INTEGER)"


def active_days_sql(dialect, status, activated_on, deactivated_on):
    """SQL for ``active_days``."""
    dom = day_in_month_sql  # only for a date known to be in the month
    return (
        f"(CASE WHEN {status} = 'in_stock' OR {activated_on} IS NULL OR {activated_on} > :month_last"
        f" OR ({deactivated_on} IS NULL AND {status} <> 'active')"
        f" OR {deactivated_on} < :month_first OR {deactivated_on} < {activated_on} THEN 0"
        f" ELSE (CASE WHEN {deactivated_on} IS NOT NULL AND {deactivated_on} <= :month_last"
        f" THEN {dom(dialect, deactivated_on)} ELSE :days_in_month END)"
        f" - (CASE WHEN {activated_on} >= :month_first THEN {dom(dialect, activated_on)} ELSE 1 END) + 1 END)"
    )


def reference_day_sql(deactivated_on):
    """SQL for ``reference_day``."""
    return (f"(CASE WHEN {deactivated_on} >= :month_first AND {deactivated_on} <= :month_last"
            f" THEN {deactivated_on} ELSE :month_last END)")


def plan_part_fen_sql(monthly_fen, days):
    """SQL for ``plan_part_fen`` from the monthly fee in fen (``plans_in_fen_sql``). Integer division: both
    backends truncate, and the operands are >= 0."""
    return f"COALESCE((2 * {monthly_fen} * {days} + :days_in_month) / (2 * :days_in_month), 0)"


def overage_fen_sql(data_kb, allowance_mb, overage_fen, days):
    """SQL for the overage part in fen, from the plan's price per MB in fen (0 without a plan or an active day)."""
    allowance_kb = f"(CAST({allowance_mb} AS BIGINT) * 1024)"
    return (f"(CASE WHEN {days} > 0 AND {allowance_mb} IS NOT NULL AND {data_kb} > {allowance_kb}"
            f" THEN (({data_kb} - {allowance_kb} + 1023) / 1024) * {overage_fen} ELSE 0 END)")


def over_allowance_sql(data_kb, allowance_mb):
    """SQL for ``over_allowance`` (false without a plan)."""
    num, den = OVER_ALLOWANCE_FACTOR
    return (f"(CASE WHEN {allowance_mb} IS NOT NULL AND {den} * {data_kb} > {num} * CAST({allowance_mb} AS BIGINT) * 1024"
            f" THEN TRUE ELSE FALSE END)")


def month_params(period):
    """The bind parameters of the fragments for ``period``."""
    m = month(period)
    return {"month_first": m.first, "month_last": m.last, "days_in_month": m.days}
