"""Programme progress by county and by installation contractor: insured heavy trucks, open orders, installed and
connected devices, trucks due and overdue.

Definitions (all counted over the programme's population: heavy trucks with a policy of ours in force on
the day, by the truck's county):
- ``insured``: such trucks;
- ``orders_open``: those with a work order in an active state (open, assigned, scheduled, rework), any kind;
- ``installed``: those with a device on them now (a current installation);
- ``connected``: those whose current device reaches the provincial platform: seen online in an
  online-status import (``first_seen_at`` set) or its installing order confirmed connected (by the
  platform or by hand with a reason);
- ``due``: those whose install due date (``installs/due.py``) is on or before the day;
- ``overdue``: those whose due date is before the day and that have no device on them (not ``installed``);
  ``oldest_overdue_days``: the days the longest-overdue of them is past its due date (0 when none is);
- percentages of ``insured``, one decimal place (None when there are no insured trucks);
- by contractor: the company of the truck's active work order, else of its latest one (any kind); trucks with
  no order, or whose order has no company yet, are counted as unassigned;
- ``next_due``: the next due dates (the day included) of insured trucks without a device, with how many trucks.
Two grouped queries, whatever the fleet's size.
"""
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, distinct, exists, func, or_, select

from ..auth.models import ContractorCompany
from ..exports import Heading, Sheet, csv_bytes, export_language, xlsx_bytes
from ..extensions import db
from ..fleet.identifiers import CHAOZHOU_DIVISIONS
from ..fleet.models import Policy, Truck
from ..labels import label
from . import due
from .due import deadline  # noqa: F401  (the programme deadline, as it was read here before)
from .models import ACTIVE_STATES, Installation, WorkOrder

COUNTS = ("insured", "orders_open", "installed", "connected", "due", "overdue")
ONE_PLACE = Decimal("0.1")
NEXT_DUE_DATES = 5


def percent(part, whole):
    """``part`` of ``whole`` in percent, one decimal place; None when ``whole`` is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def _in_force(day):
    return exists().where(Policy.truck_id == Truck.id, Policy.start_date <= day, Policy.end_date >= day)


def _counted_order():
    """Per truck the work order that names its contractor: the active one, else the latest (highest id)."""
    active_id = func.max(case((WorkOrder.state.in_(ACTIVE_STATES), WorkOrder.id)))
    return (
        select(WorkOrder.truck_id.label("truck_id"), func.coalesce(active_id, func.max(WorkOrder.id)).label("order_id"))
        .group_by(WorkOrder.truck_id).subquery("counted_order")
    )


def _counts(day, rule):
    """{(county, company id, company name): counts and the earliest first start among the overdue trucks}."""
    active = WorkOrder.__table__.alias("active_order")
    installing = WorkOrder.__table__.alias("installing_order")
    named = WorkOrder.__table__.alias("named_order")
    counted, first = _counted_order(), due.first_starts()
    seen = or_(Installation.first_seen_at.is_not(None), installing.c.connected_at.is_not(None))
    overdue = and_(rule.past_due(first.c.first_start, day), Installation.id.is_(None))
    stmt = (
        select(
            Truck.county_code, ContractorCompany.id, ContractorCompany.name,
            func.count(distinct(Truck.id)),
            func.count(distinct(active.c.id)),
            func.count(distinct(Installation.id)),
            func.count(distinct(case((seen, Installation.id)))),
            func.count(distinct(case((rule.due_by(first.c.first_start, day), Truck.id)))),
            func.count(distinct(case((overdue, Truck.id)))),
            func.min(case((overdue, first.c.first_start))),
        )
        .join(first, first.c.truck_id == Truck.id)
        .outerjoin(active, and_(active.c.truck_id == Truck.id, active.c.state.in_(ACTIVE_STATES)))
        .outerjoin(Installation, and_(Installation.truck_id == Truck.id, Installation.removed_at.is_(None)))
        .outerjoin(installing, installing.c.id == Installation.work_order_id)
        .outerjoin(counted, counted.c.truck_id == Truck.id)
        .outerjoin(named, named.c.id == counted.c.order_id)
        .outerjoin(ContractorCompany, ContractorCompany.id == named.c.company_id)
        .where(Truck.is_heavy, _in_force(day))
        .group_by(Truck.county_code, ContractorCompany.id, ContractorCompany.name)
    )
    return {(county, company_id, name): (dict(zip(COUNTS, values)), oldest)
            for county, company_id, name, *values, oldest in db.session.execute(stmt)}


def next_due(day, rule, limit=NEXT_DUE_DATES):
    """The next ``limit`` due dates, ``day`` included, of insured heavy trucks without a device: [{due_on, trucks}]."""
    first = due.first_starts()
    per_truck = (
        select(rule.anchor(first.c.first_start).label("anchor"))
        .select_from(Truck).join(first, first.c.truck_id == Truck.id)
        .where(Truck.is_heavy, _in_force(day), ~rule.past_due(first.c.first_start, day),
               ~exists().where(Installation.truck_id == Truck.id, Installation.removed_at.is_(None)))
        .subquery("waiting")
    )
    stmt = select(per_truck.c.anchor, func.count()).group_by(per_truck.c.anchor).order_by(per_truck.c.anchor).limit(limit)
    return [{"due_on": rule.due_date(anchor), "trucks": n} for anchor, n in db.session.execute(stmt)]


def _row(keys, counts, oldest, day, rule):
    return {
        **keys,
        **counts,
        "installed_pct": percent(counts["installed"], counts["insured"]),
        "connected_pct": percent(counts["connected"], counts["insured"]),
        "oldest_overdue_days": rule.overdue_days(oldest, day),
    }


def _sum(groups):
    """Counts and earliest overdue first start of several groups together."""
    counts = {k: sum(c[k] for c, _oldest in groups) for k in COUNTS}
    starts = [oldest for _c, oldest in groups if oldest is not None]
    return counts, min(starts) if starts else None


def progress(today=None):
    """The progress report: one row per county (every Chaozhou division, then any other code found), one per
    contractor (by name, the unassigned last), a total and the next due dates."""
    from ..fleet.service import today as local_today

    day = today or local_today()
    rule = due.rule()
    found = _counts(day, rule)
    codes = list(CHAOZHOU_DIVISIONS) + sorted({county for county, _i, _n in found} - set(CHAOZHOU_DIVISIONS))
    counties = [
        _row({"county_code": code, "county": label("county", code, CHAOZHOU_DIVISIONS.get(code, code))},
             *_sum([v for (county, _i, _n), v in found.items() if county == code]), day, rule)
        for code in codes
    ]
    companies = sorted({(name, company_id) for _c, company_id, name in found if company_id is not None})
    contractors = [
        _row({"company_id": company_id, "company": name},
             *_sum([v for (_c, i, _n), v in found.items() if i == company_id]), day, rule)
        for name, company_id in companies
    ]
    unassigned = [v for (_c, i, _n), v in found.items() if i is None]
    if unassigned:
        contractors.append(_row({"company_id": None, "company": _("Not assigned")}, *_sum(unassigned), day, rule))
    total = _row({"county_code": None, "county": _("Total")}, *_sum(list(found.values())), day, rule)
    return {"on": day, "deadline": rule.deadline, "install_due_days": rule.days, "counties": counties,
            "contractors": contractors, "total": total, "next_due": next_due(day, rule)}


# ---------------------------------------------------------------- exports (headers in the export's language)

FIGURES = (
    ("insured", _l("Insured heavy trucks")), ("orders_open", _l("Orders open")), ("installed", _l("Installed")),
    ("connected", _l("Connected")), ("installed_pct", _l("Installed %")), ("connected_pct", _l("Connected %")),
    ("due", _l("Due")), ("overdue", _l("Overdue")), ("oldest_overdue_days", _l("Oldest overdue (days)")),
)
COUNTY_COLUMNS = (("county_code", _l("County code")), ("county", _l("County")), *FIGURES)
CONTRACTOR_COLUMNS = (("company", _l("Installation contractor")), *FIGURES)


def _tables(report):
    """(title, header, rows) of the county table (the total last) and the contractor table."""
    def table(columns, rows):
        return [str(text) for _key, text in columns], [[row[key] for key, _text in columns] for row in rows]

    return [
        (_("By county"), *table(COUNTY_COLUMNS, [*report["counties"], report["total"]])),
        (_("By installation contractor"), *table(CONTRACTOR_COLUMNS, report["contractors"])),
    ]


def progress_csv(report):
    """The report as CSV bytes (UTF-8 with BOM): the counties and the total, a blank line, the contractors.
    Headers in the current language (``exports.export_language``)."""
    lines = []
    for index, (_title, header, rows) in enumerate(_tables(report)):
        lines += [[]] if index else []
        lines += [header, *rows]
    return csv_bytes(lines)


def progress_xlsx(report):
    """The report as an XLSX workbook: a sheet of counties (the total last) and one of contractors."""
    return xlsx_bytes([Sheet(title, [Heading(header), *rows], decimal_format="0.0", freeze="A2")
                       for title, header, rows in _tables(report)])


def progress_file(fmt, lang=None, day=None):
    """``(bytes, file name)`` of the report on ``day`` as ``csv`` or ``xlsx``: Chinese headers and labels, English
    with ``lang="en"``."""
    with export_language(lang):
        report = progress(day)
        data = progress_csv(report) if fmt == "csv" else progress_xlsx(report)
    return data, f"progress-{report['on'].isoformat()}.{fmt}"
