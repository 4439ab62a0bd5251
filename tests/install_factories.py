"""Installs test data: insured heavy trucks, devices in stock, work orders, evidence photos, SIM numbers.

Shared by the work-order, evidence and data-access tests. Others may append helpers at the bottom.
Every helper needs an app context (the ``ctx`` fixture) and commits what it creates.
"""
import datetime as dt
import itertools
import random
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from insurer_dms.extensions import db
from insurer_dms.installs.samples import photo_jpeg  # noqa: F401  (re-exported for the tests)
from insurer_dms.luhn import check_digit

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
RNG = random.Random(3)
_SEQ = itertools.count(1)
# A moment in the past when devices, policies and the catalogue are all valid (used by close tests).
INSTALLED_AT = dt.datetime(2024, 5, 20, 10, 30, tzinfo=LOCAL_TZ)
_PLATE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


def local_today():
    return dt.datetime.now(LOCAL_TZ).date()


# ---- fleet ---------------------------------------------------------------------------------------------


def operator(county="445102", name=None):
    from insurer_dms.fleet import service
    from insurer_dms.fleet.identifiers import make_credit_code

    return service.create_operator(
        {"name": name or f"潮州市顺达物流有限公司{next(_SEQ):03d}", "credit_code": make_credit_code(RNG, division=county), "county_code": county}
    )


def _free_plate():
    from insurer_dms.fleet.models import Truck

    while True:
        plate = "粤U" + "".join(RNG.choice(_PLATE_CHARS) for _ in range(5))
        if "I" not in plate and "O" not in plate and db.session.scalar(select(Truck.id).where(Truck.plate == plate)) is None:
            return plate


def insured_truck(plate=None, county="445102", heavy=True, policy=True, policy_start=dt.date(2021, 1, 1), policy_end=None, owner=None):
    """A truck (heavy goods vehicle of 18 t unless ``heavy=False``: 8 t) with, unless ``policy=False``, a commercial
    policy of ours in force from ``policy_start`` (2021-01-01) to ``policy_end`` (a year from today)."""
    from insurer_dms.fleet import service
    from insurer_dms.fleet.identifiers import make_vin

    owner = owner or operator(county)
    truck = service.create_truck(
        {"plate": plate or _free_plate(), "plate_colour": 2, "vin": make_vin(RNG), "vehicle_type": "goods_vehicle",
         "total_mass_kg": 18_000 if heavy else 8_000, "county_code": county, "operator_id": owner.id}
    )
    if policy:
        service.create_policy(
            {"number": f"PDAA{next(_SEQ):06d}{RNG.randrange(10**8):08d}", "truck_id": truck.id, "kind": "commercial",
             "start_date": policy_start, "end_date": policy_end or local_today() + dt.timedelta(days=365),
             "premium": Decimal("9180.00"), "benchmark_premium": Decimal("10800.00"), "ncd_coefficient": Decimal("0.8500"),
             "autonomous_coefficient": Decimal("1.0000")}
        )
    return truck


# ---- devices -------------------------------------------------------------------------------------------


def catalogue_entry(**overrides):
    """The default catalogue entry for installs (valid from 2021-03-01, no end), created once."""
    from insurer_dms.catalogue.models import CatalogueEntry
    from tests.factories import make_entry

    if not overrides:
        found = db.session.scalar(select(CatalogueEntry).where(CatalogueEntry.model_code == "WO-C6D"))
        if found:
            return found
        overrides = {"model_code": "WO-C6D"}
    return make_entry(**{"valid_to": None, **overrides})


def stock_devices(count, entry=None):
    """``count`` devices in stock, received through a fresh purchase order for ``entry``."""
    from insurer_dms.inventory.models import Device
    from tests.factories import make_devices, make_po

    entry = entry or catalogue_entry()
    po = make_po([entry], quantity=count, number=f"PO-WO-{next(_SEQ):05d}-{uuid.uuid4().hex[:6]}")
    start = (db.session.scalar(select(func.max(Device.id))) or 0) + 1 + next(_SEQ) * 1000
    return make_devices(po, count, start=start)


def stock_device(entry=None):
    """One device in stock (default catalogue entry unless ``entry``)."""
    return stock_devices(1, entry)[0]


# ---- contractors and work orders -----------------------------------------------------------------------


def company(name="Alpha Installations", fee=None):
    """A contractor company (get or create); ``fee`` sets its installation fee."""
    from insurer_dms.auth.service import get_or_create_company

    found = get_or_create_company(name)
    if fee is not None:
        found.installation_fee = Decimal(fee)
    db.session.commit()
    return found


def open_order(truck=None, kind="install", reason=None):
    """An open work order on ``truck`` (a fresh insured truck if None)."""
    from insurer_dms.installs import service

    truck = truck or insured_truck()
    return service.create_order(truck.id, kind=kind, reason=reason)


def assigned_order(company_name="Alpha Installations", truck=None, kind="install", reason=None):
    """A work order assigned to the named contractor company."""
    from insurer_dms.installs import service

    order = open_order(truck, kind=kind, reason=reason)
    return service.assign(order.id, company(company_name).id)


def scheduled_order(company_name="Alpha Installations", truck=None, kind="install", reason=None,
                    appointment_at=INSTALLED_AT - dt.timedelta(hours=2), address="潮州市湘桥区站前路1号"):
    """A work order assigned and scheduled (the state a technician closes from)."""
    from insurer_dms.installs import service

    order = assigned_order(company_name, truck, kind=kind, reason=reason)
    return service.schedule(None, order.id, appointment_at, address)


# ---- SIM numbers ---------------------------------------------------------------------------------------


def iccid(n=None, prefix="898600"):
    """A valid 20-digit ICCID (Luhn check digit last); China Mobile unless ``prefix`` says otherwise."""
    n = next(_SEQ) if n is None else n
    body = prefix + f"{n:013d}"
    return body + check_digit(body)


def bad_iccid(n=None):
    good = iccid(n)
    return good[:-1] + str((int(good[-1]) + 1) % 10)


def msisdn(n=None):
    """A 13-digit IoT terminal number (1440...)."""
    n = next(_SEQ) if n is None else n
    return f"1440{n:09d}"


# ---- evidence photos -----------------------------------------------------------------------------------


def with_photos(order, taken_at=INSTALLED_AT, kinds=None):
    """Register the required photos on ``order`` directly (objects put into the app's storage too)."""
    from insurer_dms.installs.models import PHOTO_KINDS, WorkOrderPhoto
    from insurer_dms.storage import storage

    taken_utc = taken_at.astimezone(dt.timezone.utc)
    for kind in kinds or PHOTO_KINDS:
        data = photo_jpeg(taken_at)
        key = f"work-orders/{order.id}/{kind}-{uuid.uuid4().hex}.jpg"
        storage().put(key, data, "image/jpeg")
        db.session.add(WorkOrderPhoto(work_order_id=order.id, kind=kind, object_key=key, content_type="image/jpeg",
                                      size_bytes=len(data), captured_at=taken_utc))
    db.session.commit()
    db.session.refresh(order)
    return order


def close_data(device, installed_at=INSTALLED_AT, **overrides):
    """The close form for ``device`` with a fresh valid SIM."""
    data = {"device_serial": device.serial, "iccid": iccid(), "msisdn": msisdn(), "installed_at": installed_at}
    data.update(overrides)
    return data


def installed_order(company_name="Alpha Installations", truck=None, device=None, installed_at=INSTALLED_AT, **sim):
    """A work order closed as installed (device on the truck, SIM active), as the system user."""
    from insurer_dms.installs import service

    order = scheduled_order(company_name, truck)
    with_photos(order, installed_at)
    device = device or stock_device()
    return service.close_order(None, order.id, close_data(device, installed_at, **sim))


# ---- data access (ACCESS helper): installed devices set up directly with the models --------------------


def installed_directly(truck=None, device=None, msisdn_=None, installed_at=INSTALLED_AT, company_name="Alpha Installations",
                       state="installed", first_seen_at=None, commit=True):
    """A device installed on ``truck`` without going through close_order: order in ``state`` (installed),
    device installed, Installation row, active SIM with an open assignment. Returns the WorkOrder."""
    from insurer_dms.installs.models import Installation, WorkOrder
    from insurer_dms.sims.models import Sim, SimAssignment

    truck = truck or insured_truck()
    device = device or stock_device()
    device.status = "installed"
    n = next(_SEQ)
    sim = Sim(iccid=iccid(n), msisdn=msisdn_ or msisdn(n), carrier="china_mobile", status="active",
              activated_on=installed_at.astimezone(LOCAL_TZ).date())
    order = WorkOrder(number=f"WO-T-{n:06d}", kind="install", state=state, truck_id=truck.id,
                      company_id=company(company_name).id if company_name else None, installed_at=installed_at,
                      connected_at=installed_at + dt.timedelta(hours=1) if state == "connected" else None)
    db.session.add_all([sim, order])
    db.session.flush()
    order.device_id, order.sim_id = device.id, sim.id
    db.session.add(SimAssignment(sim_id=sim.id, device_id=device.id, started_at=installed_at))
    db.session.add(Installation(device_id=device.id, truck_id=truck.id, work_order_id=order.id, installed_at=installed_at,
                                first_seen_at=first_seen_at, last_seen_at=first_seen_at))
    if commit:
        db.session.commit()
    return order
