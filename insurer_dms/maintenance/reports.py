"""The SLA report: open tickets by age, SLA marks and MTTR by contractor and by category, maintenance cost by month.

Definitions (a period is ``start``..``end``, local calendar days in Asia/Shanghai, both included):

* **open** tickets are those in an active state (open, assigned, in_progress) at ``now``, whatever the period;
  their **age** is ``now - opened_at``, in the buckets [0, 1 day), [1, 3 days), [3, 7 days), [7 days, ...).
* **at risk** / **breached** (open) count open tickets by the mark the SLA job gave them (``sla_state``;
  the job runs every 15 minutes, so a mark may be up to that late).
* **resolved** counts tickets resolved in the period (``resolved_at`` in it, now resolved or closed; a
  reopened ticket counts again only when it is resolved again); **resolved late** those whose ``resolved_at``
  is after ``sla_due_at``: in reports they count as breached, whatever their mark.
* **MTTR** (mean time to resolve) = the mean of ``resolved_at - opened_at`` over the tickets resolved in the
  period, in hours to one decimal place (half up); None when none was resolved. A reopened ticket runs from its
  first opening to its last resolution (its SLA clock is not restarted either, see ``sla.py``).
* contractor = the ticket's company now; tickets without one are "unassigned".
* **maintenance cost** = the ledger's entries of the categories maintenance_labour, parts and travel, summed
  per ledger month (``period``) and category for the months the period touches, reversals included.

Each table is one grouped query, whatever the number of tickets.
"""
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, select

from .. import labels
from ..auth.models import ContractorCompany
from ..errors import invalid
from ..exports import csv_bytes
from ..extensions import db
from ..fleet.service import LOCAL_TZ, today
from ..ledger.models import LedgerEntry
from ..types import CENT, utcnow
from .models import ACTIVE_STATES, CATEGORIES, COST_CATEGORIES, Ticket
from .sla import seconds_between

# Age buckets of open tickets: (key, lower bound in days, upper bound in days or None).
AGE_BUCKETS = (("under_1_day", 0, 1), ("1_to_3_days", 1, 3), ("3_to_7_days", 3, 7), ("7_days_and_more", 7, None))
MAX_DAYS = 5 * 366  # longest period a report may span
ONE_PLACE = Decimal("0.1")
MILLISECOND = Decimal("0.001")
UNASSIGNED = "unassigned"
GROUP_COUNTS = ("open", "at_risk", "breached", "resolved", "resolved_late")


def N_(message):
    """A message id to extract, translated where it is used."""
    return message


def period(start=None, end=None):
    """The report's period: ``end`` defaults to today, ``start`` to the first day of the month two months before
    ``end`` (three calendar months). Invalid (422) when ``start`` is after ``end`` or the span is too long."""
    end = end or today()
    if start is None:
        month = end.month - 2
        start = dt.date(end.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)
    if start > end:
        raise invalid("from", _l("The start of the period is after its end."))
    if (end - start).days >= MAX_DAYS:
        raise invalid("from", _l("A report spans at most %(days)s days.", days=MAX_DAYS))
    return start, end


def _utc_midnight(day):
    return dt.datetime.combine(day, dt.time(), LOCAL_TZ).astimezone(dt.timezone.utc)


def hours(seconds):
    """Seconds (Decimal or float from SQL) as hours, one decimal place half up; None stays None.

    The seconds are first rounded to the millisecond: SQLite's julianday arithmetic is off by microseconds
    (65699.99999 s for 18.25 h), which would otherwise tip a half-up rounding the wrong way.
    """
    if seconds is None:
        return None
    exact = Decimal(str(seconds)).quantize(MILLISECOND, rounding=ROUND_HALF_UP)
    return (exact / 3600).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def open_by_age(now):
    """Open tickets per age bucket and state, with a total per bucket and a total row."""
    bucket = case(*[(Ticket.opened_at > now - dt.timedelta(days=upper), key) for key, _lo, upper in AGE_BUCKETS if upper],
                  else_=AGE_BUCKETS[-1][0])
    # Grouped outside: PostgreSQL would not match a GROUP BY whose CASE carries its own bound parameters.
    aged = select(bucket.label("bucket"), Ticket.state).where(Ticket.state.in_(ACTIVE_STATES)).subquery()
    stmt = select(aged.c.bucket, aged.c.state, func.count()).group_by(aged.c.bucket, aged.c.state)
    found = {(key, state): n for key, state, n in db.session.execute(stmt)}
    rows = []
    for key, lower, upper in AGE_BUCKETS:
        counts = {state: found.get((key, state), 0) for state in ACTIVE_STATES}
        rows.append({"bucket": key, "min_days": lower, "max_days": upper, **counts, "total": sum(counts.values())})
    total = {k: sum(r[k] for r in rows) for k in (*ACTIVE_STATES, "total")}
    return rows, {"bucket": "total", "min_days": None, "max_days": None, **total}


def _by(column, start_at, end_at):
    """SLA counts and mean seconds to resolve per value of ``column``: {value: {open, at_risk, ..., seconds}}."""
    active = Ticket.state.in_(ACTIVE_STATES)
    resolved = and_(Ticket.state.in_(("resolved", "closed")), Ticket.resolved_at >= start_at, Ticket.resolved_at < end_at)

    def count(condition):
        return func.count(case((condition, Ticket.id)))

    stmt = (
        select(
            column,
            count(active),
            count(and_(active, Ticket.sla_state == "at_risk")),
            count(and_(active, Ticket.sla_state == "breached")),
            count(resolved),
            count(and_(resolved, Ticket.resolved_at > Ticket.sla_due_at)),
            func.avg(case((resolved, seconds_between(Ticket.opened_at, Ticket.resolved_at)))),
        )
        .where(active | resolved)
        .group_by(column)
    )
    return {value: {**dict(zip(GROUP_COUNTS, counts)), "mttr_hours": hours(seconds)}
            for value, *counts, seconds in db.session.execute(stmt)}


def _empty_group():
    return {**dict.fromkeys(GROUP_COUNTS, 0), "mttr_hours": None}


def by_contractor(start_at, end_at):
    """One row per contractor company (by name, every company), then the unassigned tickets."""
    found = _by(Ticket.company_id, start_at, end_at)
    companies = db.session.execute(select(ContractorCompany.id, ContractorCompany.name).order_by(ContractorCompany.name))
    rows = [{"company_id": cid, "company": name, **found.get(cid, _empty_group())} for cid, name in companies]
    rows.append({"company_id": None, "company": UNASSIGNED, **found.get(None, _empty_group())})
    return rows


def by_category(start_at, end_at):
    """One row per ticket category, in the order of ``CATEGORIES``."""
    found = _by(Ticket.category, start_at, end_at)
    return [{"category": category, **found.get(category, _empty_group())} for category in CATEGORIES]


def months(start, end):
    """The ledger months ``YYYY-MM`` from ``start``'s to ``end``'s, both included."""
    result, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        result.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return result


def costs_by_month(start, end):
    """Maintenance cost per ledger month and category (CNY), every month of the period, and the totals."""
    periods = months(start, end)
    stmt = (
        select(LedgerEntry.period, LedgerEntry.category, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.category.in_(COST_CATEGORIES), LedgerEntry.period.between(periods[0], periods[-1]))
        .group_by(LedgerEntry.period, LedgerEntry.category)
    )
    found = {(p, c): Decimal(str(amount)).quantize(CENT) for p, c, amount in db.session.execute(stmt)}
    zero = Decimal("0.00")
    rows = []
    for p in periods:
        amounts = {c: found.get((p, c), zero) for c in COST_CATEGORIES}
        rows.append({"period": p, **amounts, "total": sum(amounts.values(), zero)})
    total = {k: sum((r[k] for r in rows), zero) for k in (*COST_CATEGORIES, "total")}
    return rows, {"period": "total", **total}


def sla_report(start, end, now=None):
    """The whole report for the period ``start``..``end`` (dates, see ``period``) as of ``now``."""
    now = now or utcnow()
    start_at, end_at = _utc_midnight(start), _utc_midnight(end + dt.timedelta(days=1))
    ages, ages_total = open_by_age(now)
    costs, costs_total = costs_by_month(start, end)
    return {
        "start": start, "end": end, "as_of": now,
        "open_by_age": ages, "open_total": ages_total,
        "by_contractor": by_contractor(start_at, end_at),
        "by_category": by_category(start_at, end_at),
        "costs_by_month": costs, "costs_total": costs_total,
    }


# ---------------------------------------------------------------- CSV: one file per table

GROUP_COLUMNS = (*GROUP_COUNTS, "mttr_hours")
GROUP_HEADERS = (N_("Open"), N_("Open at risk"), N_("Open breached"), N_("Resolved"), N_("Resolved late (breached)"),
                 N_("MTTR (hours)"))
TABLES = {
    # table: (rows key, total key or None, columns, headers: message ids, in the request's language in the file)
    "ages": ("open_by_age", "open_total", ("bucket", "min_days", "max_days", *ACTIVE_STATES, "total"),
             (N_("Age"), N_("From (days)"), N_("Under (days)"), N_("Open"), N_("Assigned"), N_("In progress"), N_("Total"))),
    "contractors": ("by_contractor", None, ("company_id", "company", *GROUP_COLUMNS),
                    (N_("Company id"), N_("Company"), *GROUP_HEADERS)),
    "categories": ("by_category", None, ("category", *GROUP_COLUMNS), (N_("Category"), *GROUP_HEADERS)),
    "costs": ("costs_by_month", "costs_total", ("period", *COST_CATEGORIES, "total"),
              (N_("Month"), N_("Labour (CNY)"), N_("Parts (CNY)"), N_("Travel (CNY)"), N_("Total (CNY)"))),
}


def sla_csv(report, table):
    """One table of the report as CSV bytes (UTF-8 with BOM), its total row last where it has one."""
    rows_key, total_key, columns, headers = TABLES[table]
    rows = [*report[rows_key], *([report[total_key]] if total_key else [])]
    return csv_bytes([[_(h) for h in headers], *([_csv_cell(c, row[c]) for c in columns] for row in rows)])


# The code columns of the tables, by the labels.py kind of their values.
_CODE_COLUMNS = {"bucket": "sla_age", "category": "ticket_category"}


def _csv_cell(column, value):
    """A cell of a table: code columns as labels (codes in English), the unassigned row and the total row named."""
    if (column, value) in (("company", UNASSIGNED), ("bucket", "total"), ("period", "total")):
        return labels.cell("sla_group", value)
    if column in _CODE_COLUMNS:
        return labels.cell(_CODE_COLUMNS[column], value)
    return value


def csv_filename(report, table):
    return f"sla-{table}-{report['start'].isoformat()}-{report['end'].isoformat()}.csv"
