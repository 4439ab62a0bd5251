"""Programme progress by county: insured heavy trucks, open orders, installed and connected devices.

Definitions (all counted over the programme's population: heavy trucks with a policy of ours in force on
the day, by the truck's county):
- ``insured``: such trucks;
- ``orders_open``: those with a work order in an active state (open, assigned, scheduled, rework), any kind;
- ``installed``: those with a device on them now (a current installation);
- ``connected``: those whose current device reaches the provincial platform: seen online in an
  online-status import (``first_seen_at`` set) or its installing order confirmed connected (by the
  platform or by hand with a reason);
- percentages of ``insured``, one decimal place (None when there are no insured trucks);
- ``days_left``: days from the day to PROGRAMME_DEADLINE, negative once past.
One grouped query, whatever the fleet's size.
"""
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from sqlalchemy import and_, case, distinct, exists, func, or_, select

from ..exports import csv_bytes
from ..extensions import db
from ..fleet.identifiers import CHAOZHOU_DIVISIONS
from ..fleet.models import Policy, Truck
from ..labels import label
from .models import ACTIVE_STATES, Installation, WorkOrder

COUNTS = ("insured", "orders_open", "installed", "connected")
ONE_PLACE = Decimal("0.1")


def deadline():
    value = current_app.config["PROGRAMME_DEADLINE"]
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def percent(part, whole):
    """``part`` of ``whole`` in percent, one decimal place; None when ``whole`` is 0."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(ONE_PLACE, rounding=ROUND_HALF_UP)


def _counts_by_county(day):
    active = WorkOrder.__table__.alias("active_order")
    installing = WorkOrder.__table__.alias("installing_order")
    in_force = exists().where(Policy.truck_id == Truck.id, Policy.start_date <= day, Policy.end_date >= day)
    seen = or_(Installation.first_seen_at.is_not(None), installing.c.connected_at.is_not(None))
    stmt = (
        select(
            Truck.county_code,
            func.count(distinct(Truck.id)),
            func.count(distinct(active.c.id)),
            func.count(distinct(Installation.id)),
            func.count(distinct(case((seen, Installation.id)))),
        )
        .outerjoin(active, and_(active.c.truck_id == Truck.id, active.c.state.in_(ACTIVE_STATES)))
        .outerjoin(Installation, and_(Installation.truck_id == Truck.id, Installation.removed_at.is_(None)))
        .outerjoin(installing, installing.c.id == Installation.work_order_id)
        .where(Truck.is_heavy, in_force)
        .group_by(Truck.county_code)
    )
    return {code: dict(zip(COUNTS, values)) for code, *values in db.session.execute(stmt)}


def _row(code, name, counts, days_left):
    return {
        "county_code": code,
        "county": name,
        **counts,
        "installed_pct": percent(counts["installed"], counts["insured"]),
        "connected_pct": percent(counts["connected"], counts["insured"]),
        "days_left": days_left,
    }


def progress(today=None):
    """The progress report: one row per county (every Chaozhou division, then any other code found) and a total."""
    from ..fleet.service import today as local_today

    day = today or local_today()
    end = deadline()
    days_left = (end - day).days
    found = _counts_by_county(day)
    codes = list(CHAOZHOU_DIVISIONS) + sorted(set(found) - set(CHAOZHOU_DIVISIONS))
    zero = dict.fromkeys(COUNTS, 0)
    rows = [_row(code, label("county", code, CHAOZHOU_DIVISIONS.get(code, code)), found.get(code, zero), days_left) for code in codes]
    total = {k: sum(r[k] for r in rows) for k in COUNTS}
    return {"on": day, "deadline": end, "days_left": days_left, "counties": rows, "total": _row(None, "Total", total, days_left)}


CSV_COLUMNS = ("county_code", "county", "insured", "orders_open", "installed", "connected", "installed_pct", "connected_pct", "days_left")
CSV_HEADERS = ("County code", "County", "Insured heavy trucks", "Orders open", "Installed", "Connected", "Installed %", "Connected %", "Days left")


def progress_csv(report):
    """The report as CSV bytes (UTF-8 with BOM), the total last."""
    return csv_bytes([CSV_HEADERS, *([row[c] for c in CSV_COLUMNS] for row in [*report["counties"], report["total"]])])
