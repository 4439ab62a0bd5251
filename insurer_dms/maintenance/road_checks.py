"""Road-check findings (路检路查): the transport bureau's list of trucks found without a working device.

Each row (date, plate, location, finding) becomes one ``road_check_finding`` with an outcome:

* a plate that is no truck of ours -> ``unknown_plate`` (reported; the import does not fail);
* our truck with no device installed, whatever the finding -> ``work_order``: an installation order through
  ``installs.service.add_order`` when the truck is eligible (``fleet.eligibility``), else ``recorded`` with the
  refusal reason codes (an order already open is linked);
* our truck with a device -> ``ticket`` (source ``road_check``, priority high: the bureau is watching), folded into
  the truck's active ticket of the category: ``device_damaged`` -> physical_damage, ``camera_covered`` ->
  camera_covered, ``not_online`` -> device_offline, ``no_device`` -> other (our records say a device is on it:
  removed or stolen).

All or nothing: a bad date (unreadable, or in the future), an unknown finding or a malformed plate on any row
refuses the whole file with every bad row listed; nothing is stored. The same file again (same SHA-256) answers the
first import. The import, its findings, the work orders and the tickets are written in one transaction.
"""
import hashlib
import re

import marshmallow as ma
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import fields
from .. import activity
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..fleet import service as fleet
from ..fleet.identifiers import PlateField
from ..fleet.models import Truck
from ..fleet.policy_import import DateField
from ..imports import load_rows
from ..installs import service as installs
from ..installs.models import Installation, WorkOrder
from ..labels import named
from ..transactions import commit_or_conflict
from . import tickets
from .models import FINDINGS, RoadCheckFinding, RoadCheckImport, Ticket

ALIASES = {
    "date": ["检查日期", "日期", "路检日期", "check date", "checked on"],
    "plate": ["车牌号", "车牌", "车牌号码", "plate number"],
    "location": ["地点", "检查地点", "路段", "place"],
    "finding": ["检查结果", "问题", "问题类型", "result"],
}
# The bureau's words for each finding (README, "File formats"); English codes and words are accepted as well.
FINDING_WORDS = {
    "no_device": ("未安装设备", "未安装", "无设备", "no device"),
    "device_damaged": ("设备损坏", "设备故障", "device damaged"),
    "camera_covered": ("摄像头遮挡", "遮挡摄像头", "摄像头被遮挡", "camera covered"),
    "not_online": ("不在线", "设备不在线", "离线", "not online", "offline"),
}
TICKET_CATEGORY = {"no_device": "other", "device_damaged": "physical_damage", "camera_covered": "camera_covered",
                   "not_online": "device_offline"}
PRIORITY = "high"
_IN_CHUNK = 500


def finding_from_text(text):
    """The finding code from the bureau's Chinese, our code or English words."""
    value = " ".join(str(text or "").replace("_", " ").split()).lower()
    for code, words in FINDING_WORDS.items():
        if value == code.replace("_", " ") or value in words:
            return code
    raise ValueError(_l("Unknown finding %(value)r: use 未安装设备, 设备损坏, 摄像头遮挡 or 不在线 (%(codes)s).", value=text,
                        codes=", ".join(FINDINGS)))


class FindingField(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return finding_from_text(value)
        except ValueError as err:
            raise ma.ValidationError(str(err))


class FindingRowSchema(ma.Schema):
    """One row of a road-check findings file."""

    date = DateField(required=True)
    plate = PlateField(required=True)
    location = fields.String(validate=ma.validate.Length(max=200))
    finding = FindingField(required=True)

    @ma.validates("date")
    def _not_future(self, value, **kwargs):
        if value > fleet.today():
            raise ma.ValidationError(_l("The check date %(day)s is in the future.", day=value.isoformat()))


# ---------------------------------------------------------------- the import


def _by_plate(plates):
    found = {}
    plates = sorted(plates)
    for start in range(0, len(plates), _IN_CHUNK):
        chunk = plates[start:start + _IN_CHUNK]
        found.update((t.plate, t) for t in db.session.scalars(select(Truck).where(Truck.plate.in_(chunk))))
    return found


def _installed(truck_ids):
    """{truck_id: device_id} of the trucks' current installations."""
    found = {}
    truck_ids = sorted(truck_ids)
    for start in range(0, len(truck_ids), _IN_CHUNK):
        found.update(db.session.execute(
            select(Installation.truck_id, Installation.device_id)
            .where(Installation.truck_id.in_(truck_ids[start:start + _IN_CHUNK]), Installation.removed_at.is_(None))
        ).all())
    return found


def _describe(row):
    where = f" at {row['location']}" if row.get("location") else ""
    return f"Road check on {row['date'].isoformat()}{where}: {row['finding']}."


_DESCRIBED = re.compile(r"Road check on (\d{4}-\d{2}-\d{2})(?: at (.+))?: (\w+)\.")


def shown(text):
    """A description ``_describe`` wrote (stored in English) as a page shows it, in the user's language."""
    match = _DESCRIBED.fullmatch(text or "")
    if match is None or match[3] not in FINDINGS:
        return text
    finding = named("road_check_finding", match[3])
    if match[2]:
        return _("Road check on %(day)s at %(place)s: %(finding)s.", day=match[1], place=match[2], finding=finding)
    return _("Road check on %(day)s: %(finding)s.", day=match[1], finding=finding)


def _order_for(truck, row):
    """(outcome, work_order_id, reason) for our truck without a device: an install order when it is eligible."""
    reasons = fleet.eligibility(truck, fleet.today())
    if not reasons:
        try:
            with db.session.begin_nested():  # in the import's transaction: all of it is stored, or nothing
                order = installs.add_order(truck.id, note=_describe(row))
            return "work_order", order.id, None
        except (Invalid, Conflict, IntegrityError):  # lost a race since the check: recorded with the reasons now
            reasons = fleet.eligibility(truck, fleet.today()) or [{"code": "order_open"}]
    open_order = installs.active_order(truck.id)
    return "recorded", open_order.id if open_order else None, ", ".join(r["code"] for r in reasons)


def import_findings(data, filename, user_id=None):
    """Import a findings file and act on every row; returns the RoadCheckImport (``repeated`` if seen before)."""
    digest = hashlib.sha256(data).hexdigest()
    existing = db.session.scalar(
        select(RoadCheckImport).where(RoadCheckImport.sha256 == digest).order_by(RoadCheckImport.id))
    if existing is not None:
        existing.repeated = True
        return existing
    rows = load_rows(data, filename, FindingRowSchema(), ALIASES)
    trucks = _by_plate({row["plate"] for _n, row in rows})
    devices = _installed({t.id for t in trucks.values()})

    # The import row first: the transaction has begun with a write (on SQLite the work orders' savepoints must nest
    # inside it, or releasing the first would commit), and its id is named in the tickets' events.
    item = RoadCheckImport(filename=(filename or "")[:255], sha256=digest, rows=len(rows), created_by_id=user_id)
    db.session.add(item)
    db.session.flush()
    findings = []
    for row_no, row in rows:
        truck = trucks.get(row["plate"])
        finding = RoadCheckFinding(row_no=row_no, checked_on=row["date"], plate=row["plate"],
                                   location=row.get("location"), finding=row["finding"],
                                   truck_id=truck.id if truck else None)
        if truck is None:
            finding.outcome = "unknown_plate"
        elif truck.id not in devices:
            finding.outcome, finding.work_order_id, finding.reason = _order_for(truck, row)
        findings.append((finding, row))

    for finding, row in findings:
        if finding.outcome is None:
            ticket, _opened = tickets.signal(
                finding.truck_id, TICKET_CATEGORY[row["finding"]], "road_check", note=_describe(row),
                data={"road_check_import_id": item.id, "row": finding.row_no, "checked_on": row["date"],
                      "location": row.get("location"), "finding": row["finding"], "filename": item.filename},
                device_id=devices[finding.truck_id], priority=PRIORITY)
            finding.outcome, finding.ticket_id = "ticket", ticket.id
        finding.road_check_import = item
        db.session.add(finding)
    outcomes = [f.outcome for f, _row in findings]
    item.tickets, item.work_orders = outcomes.count("ticket"), outcomes.count("work_order")
    item.recorded, item.unknown_plates = outcomes.count("recorded"), outcomes.count("unknown_plate")
    activity.record("import", item, after=summary(item), note=item.filename)
    commit_or_conflict(_l("Another change to these trucks' tickets got there first; upload the file again."), "file")
    item.repeated = False
    return item


def summary(item):
    return {"id": item.id, "rows": item.rows, "tickets": item.tickets, "work_orders": item.work_orders,
            "recorded": item.recorded, "unknown_plates": item.unknown_plates}


# ---------------------------------------------------------------- reading


def get_import(import_id):
    item = db.session.get(RoadCheckImport, import_id)
    if item is None:
        raise NotFound(_l("No road-check import %(id)s.", id=import_id))
    return item


def imports_query():
    """Road-check imports, newest first."""
    return select(RoadCheckImport).order_by(RoadCheckImport.id.desc())


def findings_query(import_id, outcome=None):
    """The findings of one import in file order, optionally of one outcome."""
    stmt = select(RoadCheckFinding).where(RoadCheckFinding.import_id == import_id)
    if outcome:
        stmt = stmt.where(RoadCheckFinding.outcome == outcome)
    return stmt.order_by(RoadCheckFinding.row_no)


def finding_items(findings):
    """The findings as dicts with the numbers of their tickets and work orders (two queries), for lists."""
    findings = list(findings)
    ticket_ids = {f.ticket_id for f in findings if f.ticket_id}
    order_ids = {f.work_order_id for f in findings if f.work_order_id}
    ticket_numbers = dict(db.session.execute(
        select(Ticket.id, Ticket.number).where(Ticket.id.in_(ticket_ids))).all()) if ticket_ids else {}
    order_numbers = dict(db.session.execute(
        select(WorkOrder.id, WorkOrder.number).where(WorkOrder.id.in_(order_ids))).all()) if order_ids else {}
    return [{"id": f.id, "row_no": f.row_no, "checked_on": f.checked_on, "plate": f.plate, "location": f.location,
             "finding": f.finding, "truck_id": f.truck_id, "outcome": f.outcome, "reason": f.reason,
             "ticket_id": f.ticket_id, "ticket_number": ticket_numbers.get(f.ticket_id),
             "work_order_id": f.work_order_id, "work_order_number": order_numbers.get(f.work_order_id)}
            for f in findings]


def unknown_plates(import_id):
    """[{row, plate}] of the import's plates that are no truck of ours."""
    return [{"row": f.row_no, "plate": f.plate} for f in db.session.scalars(findings_query(import_id, "unknown_plate"))]
