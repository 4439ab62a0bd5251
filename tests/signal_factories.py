"""Signal test data: installed trucks on a data plan, statements with zero usage, sightings, road-check files.

Every helper needs an app context (the ``ctx`` fixture) and commits what it creates.
"""
import datetime as dt

from sqlalchemy import select

from insurer_dms.extensions import db
from insurer_dms.installs.models import Installation
from insurer_dms.maintenance.models import Ticket
from tests import install_factories as f
from tests import statement_factories as sf
from tests.factories import csv_bytes

DAY = dt.timedelta(days=1)
ROAD_CHECK_HEADERS = ["date", "plate", "location", "finding"]
ROAD_CHECK_HEADERS_ZH = ["检查日期", "车牌号", "地点", "检查结果"]


def installed_truck(last_seen_at=None, installed_at=f.INSTALLED_AT, company_name="Alpha Installations"):
    """A truck with a device and an active SIM on a 30.00 CNY plan; the platform last saw it at ``last_seen_at``
    (its installing order connected then), or never (order still ``installed``). Returns the installing order."""
    order = f.installed_directly(installed_at=installed_at, first_seen_at=last_seen_at, company_name=company_name,
                                 state="connected" if last_seen_at else "installed")
    order.sim.plan_id = sf.plan(fee="30.00").id
    db.session.commit()
    return order


def usage_statement(zero=(), used=(), period=sf.PERIOD):
    """A statement (new version of ``period``) billing 30.00 per SIM: 0 KB for the ``zero`` orders' SIMs, 2 MB for ``used``."""
    lines = [sf.line(o.sim.iccid, "30.00", data_kb=0) for o in zero]
    lines += [sf.line(o.sim.iccid, "30.00", data_kb=2048) for o in used]
    return sf.statement(lines, period=period)


def reconciled(zero=(), used=(), period=sf.PERIOD):
    """``usage_statement`` reconciled by its job, inline (which runs the zero-usage job inline too); its id."""
    from jobs.reconcile import reconcile_statement

    statement_id = usage_statement(zero, used, period).id
    reconcile_statement(statement_id)
    return statement_id


def seen(order, at):
    """The platform saw ``order``'s device at ``at`` (as an online-status import records it)."""
    installation = db.session.scalar(select(Installation).where(Installation.work_order_id == order.id))
    installation.first_seen_at = installation.first_seen_at or at
    installation.last_seen_at = at
    db.session.commit()


def tickets_of(truck_id, category="device_offline"):
    """The truck's tickets of ``category``, oldest first."""
    return db.session.scalars(select(Ticket).where(Ticket.truck_id == truck_id, Ticket.category == category)
                              .order_by(Ticket.id)).all()


def road_check_csv(rows, headers=ROAD_CHECK_HEADERS):
    """A findings file: ``rows`` of (date, plate, location, finding)."""
    return csv_bytes(headers, [list(r) for r in rows])
