"""Data access to the provincial platform: configuration sheets, connection confirmation, online-status imports."""
import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import activity
from ..errors import Conflict, Invalid, NotFound, invalid
from ..exports import csv_bytes
from ..extensions import db
from ..imports import read_table
from ..inventory.models import Device
from ..labels import named
from ..sims.models import Sim, SimAssignment
from ..storage import sha256, storage
from ..types import utcnow
from .models import Installation, OnlineStatusImport, WorkOrder

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
CONNECTION_SOURCES = ("platform", "manual")

# The configuration sheet's fields in the order the technician types them into the terminal (JT/T 808 registration).
SHEET_FIELDS = (
    ("platform_host", "Platform host"),
    ("platform_port", "Platform port"),
    ("terminal_phone", "Terminal phone number"),
    ("plate", "Plate number"),
    ("plate_colour", "Plate colour code"),
    ("province_code", "Province code"),
    ("city_code", "City code"),
    ("county_code", "County code"),
    ("manufacturer", "Manufacturer"),
    ("terminal_model", "Terminal model"),
    ("terminal_id", "Terminal ID"),
    ("device_serial", "Device serial"),
    ("installed_at", "Install time"),
    ("work_order_number", "Work order"),
)

# Header names the platform's online-status export uses (English and Chinese), normalised (no spaces, lower case).
ONLINE_COLUMNS = {
    "msisdn": ("msisdn", "terminalphone", "terminalphonenumber", "phone", "phonenumber", "simnumber", "sim",
               "终端手机号", "终端手机号码", "sim卡号", "sim卡号码", "终端号码", "手机号", "手机号码", "终端号"),
    "plate": ("plate", "platenumber", "plateno", "vehicleplate", "车牌号码", "车牌号", "车牌"),
    "last_online": ("lastonline", "lastonlinetime", "lastonlineat", "lastseen", "lastseenat", "lastseentime",
                    "最后在线时间", "最后上线时间", "最近在线时间", "最后定位时间", "最后通讯时间"),
}
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y%m%d%H%M%S")


# ---------------------------------------------------------------- configuration sheet


def _open_msisdns(device_ids):
    """{device_id: MSISDN of the SIM now in it} in one query."""
    if not device_ids:
        return {}
    rows = db.session.execute(
        select(SimAssignment.device_id, Sim.msisdn)
        .join(Sim, Sim.id == SimAssignment.sim_id)
        .where(SimAssignment.device_id.in_(list(device_ids)), SimAssignment.ended_at.is_(None))
    )
    return dict(rows.all())


def installation_of(order):
    found = db.session.scalar(
        select(Installation).where(Installation.work_order_id == order.id, Installation.removed_at.is_(None))
    )
    if found is None:
        raise Conflict(_l("Work order %(number)s has no device installed; there is no configuration sheet yet.", number=order.number))
    return found


def _sheet(installation, msisdn, order_number):
    config = current_app.config
    truck, device = installation.truck, installation.device
    entry = device.catalogue_entry
    return {
        "installation_id": installation.id,
        "work_order_id": installation.work_order_id,
        "work_order_number": order_number,
        "platform_host": config["PLATFORM_HOST"],
        "platform_port": int(config["PLATFORM_PORT"]),
        "terminal_phone": msisdn,
        "plate": truck.plate,
        "plate_colour": truck.plate_colour,
        "province_code": config["PROVINCE_CODE"],
        "city_code": config["CITY_CODE"],
        "county_code": truck.county_code,
        "manufacturer": entry.manufacturer,
        "terminal_model": entry.model_code,
        "terminal_id": device.terminal_id,
        "device_serial": device.serial,
        "installed_at": installation.installed_at,
    }


def config_sheet(order_or_installation):
    """What the technician enters into the terminal so its data reaches the provincial platform (数据接入)."""
    if isinstance(order_or_installation, WorkOrder):
        installation = installation_of(order_or_installation)
    else:
        installation = order_or_installation
    number = db.session.scalar(select(WorkOrder.number).where(WorkOrder.id == installation.work_order_id))
    return _sheet(installation, _open_msisdns([installation.device_id]).get(installation.device_id), number)


def current_installations_query(county_code=None):
    """Current installations with their truck, device and catalogue entry loaded, by plate."""
    from ..fleet.models import Truck

    stmt = (
        select(Installation)
        .join(Truck, Truck.id == Installation.truck_id)
        .where(Installation.removed_at.is_(None))
        .options(joinedload(Installation.truck), joinedload(Installation.device).joinedload(Device.catalogue_entry))
        .order_by(Truck.county_code, Truck.plate)
    )
    if county_code:
        stmt = stmt.where(Truck.county_code == county_code)
    return stmt


def config_sheets(installations):
    """The configuration sheets of many installations (three queries whatever their number)."""
    installations = list(installations)
    msisdns = _open_msisdns({i.device_id for i in installations})
    numbers = dict(
        db.session.execute(select(WorkOrder.id, WorkOrder.number).where(WorkOrder.id.in_({i.work_order_id for i in installations}))).all()
    ) if installations else {}
    return [_sheet(i, msisdns.get(i.device_id), numbers.get(i.work_order_id)) for i in installations]


def _local(moment):
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def config_sheet_csv(installations):
    """CSV bytes, one configuration sheet per row (UTF-8 with BOM so spreadsheet programs show the plates)."""
    rows = [[_local(sheet[k]) if k == "installed_at" else sheet[k] for k, _t in SHEET_FIELDS]
            for sheet in config_sheets(installations)]
    return csv_bytes([[title for _key, title in SHEET_FIELDS], *rows])


# ---------------------------------------------------------------- connection


def connect_order(order, at, source, reason=None):
    """Move an installed order to connected in the current transaction (no commit); True if it moved."""
    if source not in CONNECTION_SOURCES:
        raise invalid("source", _l("Source must be one of %(sources)s.", sources=", ".join(CONNECTION_SOURCES)))
    if source == "manual" and not (reason or "").strip():
        raise invalid("reason", _l("Say why the connection is confirmed by hand (e.g. seen on the platform's live map)."))
    if order.state == "connected":
        return False
    if order.state != "installed":
        message = _l("Work order %(number)s is %(state)s; only an installed order can be confirmed connected.", number=order.number,
                     state=named("order_state", order.state))
        raise Conflict(message, {"state": [message]})
    from .service import move_order

    note = f"{source}: {reason.strip()}" if reason and reason.strip() else source
    move_order(order, "connected", note=note, connected_at=at)
    return True


def mark_connected(order_id, at, source, reason=None):
    """Confirm that an installed order's device reaches the platform (installed -> connected); commits.

    A manual confirmation needs a reason; confirming an order already connected changes nothing.
    """
    order = db.session.scalar(
        select(WorkOrder).where(WorkOrder.id == order_id).with_for_update().execution_options(populate_existing=True)
    )
    if order is None:
        raise NotFound(_l("No work order %(id)s.", id=order_id))
    connect_order(order, at or utcnow(), source, reason)
    db.session.commit()
    return order


# ---------------------------------------------------------------- online-status import


def _norm(header):
    return "".join(str(header or "").replace("\ufeff", "").split()).lower()


def online_columns(headers):
    """{field: column index} for the export's headers; Invalid (field ``file``) when a needed column is missing."""
    lookup = {_norm(alias): name for name, aliases in ONLINE_COLUMNS.items() for alias in aliases}
    columns = {}
    for index, header in enumerate(headers):
        name = lookup.get(_norm(header))
        if name and name not in columns:
            columns[name] = index
    problems = []
    if "msisdn" not in columns and "plate" not in columns:
        problems.append(_l("No terminal phone number (终端手机号) or plate (车牌号码) column."))
    if "last_online" not in columns:
        problems.append(_l("No last-online time (最后在线时间) column."))
    if problems:
        raise Invalid(_l("This is not an online-status export: %(problems)s",
                         problems=LazyString(lambda: " ".join(str(p) for p in problems))), {"file": problems})
    return columns


def parse_time(text):
    """A last-online time as UTC; naive times are Beijing time as the platform shows them. None if unreadable."""
    text = str(text or "").strip()
    if not text:
        return None
    moment = None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        for fmt in _TIME_FORMATS:
            try:
                moment = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TZ)
    return moment.astimezone(dt.timezone.utc)


def start_online_status_import(data, filename, user_id=None):
    """Store the platform's export and queue its processing; the same file again returns the first import."""
    from ..queue import enqueue

    suffix = (filename or "").lower().rpartition(".")[2]
    if suffix not in ("csv", "xlsx"):
        raise invalid("file", _l("Upload a .csv or .xlsx file."))
    headers, body = read_table(data, filename)
    online_columns(headers)
    if not body:
        raise invalid("file", _l("The file has no data rows."))
    digest = sha256(data)
    existing = db.session.scalar(select(OnlineStatusImport).where(OnlineStatusImport.sha256 == digest).order_by(OnlineStatusImport.id))
    if existing is not None and existing.status != "failed":
        existing.repeated = True
        return existing
    key = f"online-status/{digest}.{suffix}"
    storage().put(key, data, "text/csv" if suffix == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    if existing is not None:  # a failed run is retried with the same record
        item, item.status, item.error = existing, "pending", None
        activity.record("retry", item, note=filename)
    else:
        item = OnlineStatusImport(filename=filename[:255], object_key=key, sha256=digest, status="pending", created_by_id=user_id)
        db.session.add(item)
        activity.record("create", item)
    db.session.commit()
    import_id = item.id
    enqueue("jobs.installs.process_online_status", import_id)
    item = db.session.get(OnlineStatusImport, import_id)
    db.session.refresh(item)
    item.repeated = False
    return item


def get_import(import_id):
    item = db.session.get(OnlineStatusImport, import_id)
    if item is None:
        raise NotFound(_l("No online-status import %(id)s.", id=import_id))
    return item


def imports_query():
    """Online-status imports, newest first."""
    return select(OnlineStatusImport).order_by(OnlineStatusImport.id.desc())


# ---------------------------------------------------------------- never seen


def never_seen_query(county_code=None):
    """Current installations the platform has never seen online, oldest installation first."""
    stmt = current_installations_query(county_code).where(Installation.first_seen_at.is_(None))
    return stmt.order_by(None).order_by(Installation.installed_at, Installation.id)


def never_seen_items(installations, today=None):
    """Rows for the never-seen list: the installation, its truck and device, SIM number and age in days."""
    from ..fleet.service import today as local_today

    today = today or local_today()
    installations = list(installations)
    msisdns = _open_msisdns({i.device_id for i in installations})
    orders = {
        o.id: o for o in db.session.scalars(select(WorkOrder).where(WorkOrder.id.in_({i.work_order_id for i in installations})))
    } if installations else {}
    items = []
    for i in installations:
        order = orders.get(i.work_order_id)
        items.append({
            "installation_id": i.id,
            "work_order_id": i.work_order_id,
            "work_order_number": order.number if order else None,
            "order_state": order.state if order else None,
            "plate": i.truck.plate,
            "county_code": i.truck.county_code,
            "device_serial": i.device.serial,
            "terminal_id": i.device.terminal_id,
            "terminal_phone": msisdns.get(i.device_id),
            "installed_at": i.installed_at,
            "age_days": (today - i.installed_at.astimezone(LOCAL_TZ).date()).days,
        })
    return items


def never_seen(today=None, county_code=None):
    """Installed devices never seen online by the platform, oldest first, with their age in days."""
    return never_seen_items(db.session.scalars(never_seen_query(county_code)).unique().all(), today)
