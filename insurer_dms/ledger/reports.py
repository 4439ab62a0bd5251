"""The cost report: what the programme cost over a range of months, and where the money went.

Definitions (every amount is the sum of the ledger entries of the range's months, reversals included, so a
superseded statement or a corrected entry counts once, at its corrected amount):
- ``by_month``, ``by_category``: the entries' month and category;
- ``by_county``: the county of the entry's truck (None: no truck, e.g. a device still in stock, or a SIM that was
  in no installed device);
- ``by_contractor``: the contractor company paid (installation fees, maintenance costs); entries paid to no
  contractor are left out of this list;
- ``by_carrier``: the SIM categories by the carrier of the statement the entry was booked from;
- ``trucks``: costs on trucks (entries with a truck), the number of those trucks, their truck-years and the cost
  per truck and per truck-year. A truck-year is a year of a truck carrying a programme device: the time between
  each installation and its removal (or now) that falls in the range, summed, in days / 365;
- ``top_trucks``: the ten trucks that cost the most, each with its categories, largest first (the reasons).
``county`` keeps only entries (and installations) of trucks of that county. ``as_of`` keeps only the entries
created up to that moment: the report as it was then, reproducible after any later correction.

Everything is a GROUP BY in the database (amounts summed as integer fen, exact on SQLite too); the handful of
queries does not grow with the number of trucks or entries.
"""
import datetime as dt
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from ..auth.models import ContractorCompany
from ..errors import Invalid
from ..exports import Sheet, csv_bytes, xlsx_bytes
from ..extensions import db
from ..fleet.identifiers import CHAOZHOU_DIVISIONS
from ..fleet.models import Truck
from ..installs.models import Installation
from ..labels import label
from ..sims.models import Statement, StatementLine
from ..types import CENT, utcnow
from .models import CATEGORIES, STATEMENT_LINE, LedgerEntry, statement_line_id
from .service import cny, fen_sum

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_MONTHS = 120
SIM_CATEGORIES = ("sim_plan_fee", "sim_overage")
TOP = 10
E = LedgerEntry


def months(first, last):
    """Every ``YYYY-MM`` from ``first`` to ``last``, both included."""
    year, month = int(first[:4]), int(first[5:])
    found = []
    while f"{year:04d}-{month:02d}" <= last:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def check_range(period_from, period_to):
    """Field errors for a bad month range (422), else the list of its months."""
    errors = {}
    for field, value in (("from", period_from), ("to", period_to)):
        if not value or not MONTH.match(value):
            errors[field] = [_l("%(value)r is not a month (YYYY-MM).", value=value)]
    if errors:
        raise Invalid(_l("The month range is invalid."), errors)
    if period_from > period_to:
        raise Invalid(_l("The month range is invalid."), {"to": [_l("%(to)s is before %(frm)s.", to=period_to, frm=period_from)]})
    found = months(period_from, period_to)
    if len(found) > MAX_MONTHS:
        raise Invalid(_l("The month range is invalid."), {"to": [_l("At most %(count)s months at a time.", count=MAX_MONTHS)]})
    return found


def _scope(stmt, period_from, period_to, county, as_of):
    """Entries of the months, of trucks of ``county`` (if given), created up to ``as_of`` (if given)."""
    stmt = stmt.where(E.period >= period_from, E.period <= period_to)
    if county:
        stmt = stmt.where(Truck.county_code == county)
    if as_of is not None:
        stmt = stmt.where(E.created_at <= as_of)
    return stmt


def _bounds(period_from, period_to, now):
    """The range as UTC instants: the first month's first midnight in Chaozhou, to the end of the last (or now)."""
    start = dt.datetime(int(period_from[:4]), int(period_from[5:]), 1, tzinfo=LOCAL_TZ)
    year, month = int(period_to[:4]), int(period_to[5:])
    end = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=LOCAL_TZ)
    return start.astimezone(dt.timezone.utc), min(end, now).astimezone(dt.timezone.utc)


def _days_between(later, earlier):
    if db.engine.dialect.name == "postgresql":
        return func.extract("epoch", later - earlier) / 86400
    return func.julianday(later) - func.julianday(earlier)


def truck_years(period_from, period_to, county=None, now=None):
    """Years of trucks carrying a device within the range (up to ``now``), from the installations: one query."""
    start, end = _bounds(period_from, period_to, now or utcnow())
    if end <= start:
        return Decimal("0.00")
    pg = db.engine.dialect.name == "postgresql"
    latest, earliest = (func.least, func.greatest) if pg else (func.min, func.max)
    stop = latest(func.coalesce(Installation.removed_at, end), end)
    begin = earliest(Installation.installed_at, start)
    stmt = select(func.coalesce(func.sum(_days_between(stop, begin)), 0)).where(
        Installation.installed_at < end, or_(Installation.removed_at.is_(None), Installation.removed_at > start)
    )
    if county:
        stmt = stmt.join(Truck, Truck.id == Installation.truck_id).where(Truck.county_code == county)
    days = Decimal(str(db.session.scalar(stmt) or 0))
    return (days / 365).quantize(CENT)


def _cube(period_from, period_to, county, as_of):
    """Sums by month, county, category and contractor: one GROUP BY, a few hundred rows at most."""
    stmt = (
        select(E.period, Truck.county_code, E.category, E.company_id, fen_sum())
        .select_from(E).outerjoin(Truck, Truck.id == E.truck_id)
        .group_by(E.period, Truck.county_code, E.category, E.company_id)
    )
    return db.session.execute(_scope(stmt, period_from, period_to, county, as_of)).all()


def _by_carrier(period_from, period_to, county, as_of):
    stmt = (
        select(Statement.carrier, fen_sum())
        .select_from(E)
        .join(StatementLine, StatementLine.id == statement_line_id())
        .join(Statement, Statement.id == StatementLine.statement_id)
        .outerjoin(Truck, Truck.id == E.truck_id)
        .where(E.source_type == STATEMENT_LINE, E.category.in_(SIM_CATEGORIES))
        .group_by(Statement.carrier).order_by(Statement.carrier)
    )
    return db.session.execute(_scope(stmt, period_from, period_to, county, as_of)).all()


def _trucks(period_from, period_to, county, as_of):
    """(number of trucks with costs, their total) and the ten costliest trucks: two queries."""
    on_trucks = _scope(
        select(func.count(func.distinct(E.truck_id)), fen_sum()).select_from(E)
        .outerjoin(Truck, Truck.id == E.truck_id).where(E.truck_id.is_not(None)),
        period_from, period_to, county, as_of,
    )
    count, total = db.session.execute(on_trucks).one()
    per_truck = (
        select(E.truck_id, fen_sum().label("fen")).select_from(E).join(Truck, Truck.id == E.truck_id)
        .group_by(E.truck_id)
    )
    per_truck = _scope(per_truck, period_from, period_to, county, as_of).subquery()
    top = (
        select(Truck.id, Truck.plate, Truck.county_code, per_truck.c.fen)
        .join(per_truck, per_truck.c.truck_id == Truck.id)
        .order_by(per_truck.c.fen.desc(), Truck.id).limit(TOP)
    )
    return count, total, db.session.execute(top).all()


def _reasons(truck_ids, period_from, period_to, county, as_of):
    """The categories of each of ``truck_ids``, largest first: one GROUP BY over those trucks only."""
    if not truck_ids:
        return {}
    stmt = (
        select(E.truck_id, E.category, fen_sum().label("fen")).select_from(E).join(Truck, Truck.id == E.truck_id)
        .where(E.truck_id.in_(truck_ids)).group_by(E.truck_id, E.category)
    )
    found = {}
    for truck_id, category, fen in db.session.execute(_scope(stmt, period_from, period_to, county, as_of)):
        if fen:
            found.setdefault(truck_id, []).append({"category": category, "label": label("ledger_category", category),
                                                   "amount": cny(fen)})
    for reasons in found.values():
        reasons.sort(key=lambda r: (-r["amount"], r["category"]))
    return found


def _county_name(code):
    if code is None:
        return None
    return label("county", code, CHAOZHOU_DIVISIONS.get(code, code))


def cost_report(period_from, period_to, county=None, as_of=None, now=None):
    """The cost report for the months ``period_from``..``period_to`` (see the module docstring)."""
    month_list = check_range(period_from, period_to)
    rows = _cube(period_from, period_to, county, as_of)
    by_month = {m: dict.fromkeys(CATEGORIES, 0) for m in month_list}
    by_county, by_category, by_company = {}, dict.fromkeys(CATEGORIES, 0), {}
    for period, county_code, category, company_id, fen in rows:
        by_month[period][category] += fen
        by_county[county_code] = by_county.get(county_code, 0) + fen
        by_category[category] += fen
        if company_id is not None:
            by_company[company_id] = by_company.get(company_id, 0) + fen
    names = dict(db.session.execute(
        select(ContractorCompany.id, ContractorCompany.name).where(ContractorCompany.id.in_(by_company))
    ).all()) if by_company else {}
    trucks, truck_fen, top = _trucks(period_from, period_to, county, as_of)
    years = truck_years(period_from, period_to, county, now or as_of)  # as of a moment: the time up to then
    reasons = _reasons([t.id for t in top], period_from, period_to, county, as_of)
    truck_total = cny(truck_fen)
    return {
        "period_from": period_from, "period_to": period_to, "county": county, "as_of": as_of,
        "total": cny(sum(by_category.values())),
        "by_month": [{"period": m, "amount": cny(sum(cats.values())),
                      "categories": {c: cny(v) for c, v in cats.items()}} for m, cats in by_month.items()],
        "by_county": [{"county_code": code, "county": _county_name(code), "amount": cny(fen)}
                      for code, fen in sorted(by_county.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))],
        "by_category": [{"category": c, "label": label("ledger_category", c), "amount": cny(fen)}
                        for c, fen in by_category.items()],
        "by_contractor": [{"company_id": cid, "company": names.get(cid, str(cid)), "amount": cny(fen)}
                          for cid, fen in sorted(by_company.items(), key=lambda kv: (-kv[1], kv[0]))],
        "by_carrier": [{"carrier": carrier, "label": label("carrier", carrier), "amount": cny(fen)}
                       for carrier, fen in _by_carrier(period_from, period_to, county, as_of)],
        "trucks": {
            "count": trucks, "total": truck_total, "truck_years": years,
            "cost_per_truck": (truck_total / trucks).quantize(CENT) if trucks else None,
            "cost_per_truck_year": (truck_total / years).quantize(CENT) if years else None,
        },
        "top_trucks": [{"truck_id": t.id, "plate": t.plate, "county_code": t.county_code,
                        "county": _county_name(t.county_code), "total": cny(t.fen), "reasons": reasons.get(t.id, [])}
                       for t in top],
    }


def year_to(last):
    """The first month of the twelve months ending with ``last`` (YYYY-MM)."""
    index = int(last[:4]) * 12 + int(last[5:]) - 1 - 11
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


# ---- CSV and XLSX --------------------------------------------------------------------------------------

# Export headings are part of the file format, like the import header aliases: fixed English and Chinese names,
# picked by the user's language (so a zh_CN user's Excel shows Chinese columns whatever the page catalogue holds).
HEADINGS = {
    "summary": ("Summary", "汇总"), "by_month": ("By month", "按月"), "by_county": ("By county", "按区县"),
    "by_category": ("By category", "按类别"), "by_contractor": ("By contractor", "按承包商"),
    "by_carrier": ("By carrier", "按运营商"), "top_trucks": ("Top trucks", "费用最高车辆"),
    "figure": ("Figure", "项目"), "value": ("Value", "数值"), "month": ("Month", "月份"),
    "county_code": ("County code", "区县代码"), "county": ("County", "区县"), "category": ("Category", "类别"),
    "contractor": ("Contractor", "承包商"), "carrier": ("Carrier", "运营商"), "amount": ("Amount (CNY)", "金额(元)"),
    "total": ("Total (CNY)", "合计(元)"), "rank": ("Rank", "排名"), "plate": ("Plate", "车牌号码"),
    "reasons": ("Reasons", "主要费用"), "from": ("From", "起始月份"), "to": ("To", "截止月份"),
    "as_of": ("As of", "截至时间"), "all_counties": ("All counties", "全部区县"), "no_truck": ("No truck", "无车辆"),
    "grand_total": ("Total (CNY)", "总费用(元)"), "truck_total": ("Costs on trucks (CNY)", "车辆费用(元)"),
    "trucks": ("Trucks with costs", "产生费用车辆数"), "truck_years": ("Truck-years", "车辆年数"),
    "cost_per_truck": ("Cost per truck (CNY)", "单车费用(元)"),
    "cost_per_truck_year": ("Cost per truck-year (CNY)", "每车年费用(元)"),
}


def heading(key, language):
    english, chinese = HEADINGS[key]
    return chinese if language == "zh" else english


def sections(report, language):
    """The report as titled tables: [(title, header row, rows)], the same for CSV and XLSX."""
    h = lambda key: heading(key, language)  # noqa: E731
    t = report["trucks"]
    summary = [
        (h("from"), report["period_from"]), (h("to"), report["period_to"]),
        (h("county"), _county_name(report["county"]) if report["county"] else h("all_counties")),
        (h("as_of"), report["as_of"].isoformat() if report["as_of"] else ""),
        (h("grand_total"), report["total"]), (h("truck_total"), t["total"]), (h("trucks"), t["count"]),
        (h("truck_years"), t["truck_years"]), (h("cost_per_truck"), t["cost_per_truck"]),
        (h("cost_per_truck_year"), t["cost_per_truck_year"]),
    ]
    category_names = [label("ledger_category", c) for c in CATEGORIES]
    return [
        (h("summary"), [h("figure"), h("value")], summary),
        (h("by_month"), [h("month"), *category_names, h("total")],
         [[m["period"], *[m["categories"][c] for c in CATEGORIES], m["amount"]] for m in report["by_month"]]),
        (h("by_county"), [h("county_code"), h("county"), h("amount")],
         [[r["county_code"] or "", r["county"] or h("no_truck"), r["amount"]] for r in report["by_county"]]),
        (h("by_category"), [h("category"), h("amount")], [[r["label"], r["amount"]] for r in report["by_category"]]),
        (h("by_contractor"), [h("contractor"), h("amount")], [[r["company"], r["amount"]] for r in report["by_contractor"]]),
        (h("by_carrier"), [h("carrier"), h("amount")], [[r["label"], r["amount"]] for r in report["by_carrier"]]),
        (h("top_trucks"), [h("rank"), h("plate"), h("county"), h("total"), h("reasons")],
         [[i + 1, r["plate"], r["county"], r["total"], "; ".join(f"{x['label']} {x['amount']}" for x in r["reasons"])]
          for i, r in enumerate(report["top_trucks"])]),
    ]


def report_csv(report, language):
    """The report as one CSV (UTF-8 with BOM for Excel): each table under its title, a blank line between."""
    rows = []
    for index, (title, header, table) in enumerate(sections(report, language)):
        rows += [[]] if index else []
        rows += [[title], header, *table]
    return csv_bytes(rows)


def report_xlsx(report, language):
    """The report as an XLSX workbook, one sheet per table; amounts are numbers with two decimals."""
    return xlsx_bytes([Sheet(title, [header, *table], decimal_format="#,##0.00")
                       for title, header, table in sections(report, language)])
