"""A renewal history for the no-premium-increase audit, with its expected findings worked out by hand (tests, demo).

``seed_renewal_history(period_from)`` adds one truck per case in ``CASES``: a policy a year before the renewal,
the renewal starting in the quarter from ``period_from``, and (for most) a device installed before the renewal.
Operators, trucks and policies go in through the fleet services; the devices through a purchase order; the
installations directly. Premiums are ``B x N x V x A`` plus, where a case says so, an unexplained amount.

What an audit of the quarter must find (tolerance 1.00 CNY), by hand:
- audited (a device before the renewal): autonomous_rose, ncd_rose, unexplained_rise, several_factors,
  compulsory_unexplained, both_reasons, autonomous_fell, residual_at_tolerance, removed_before_renewal (9);
- findings and excess: autonomous_rose 850.00, unexplained_rise 150.00, several_factors 484.00,
  compulsory_unexplained 168.00, both_reasons 470.00 (450.00 + 20.00), removed_before_renewal 1500.00: 3622.00;
- cohort (heavy, no device before the renewal): installed_on_start_day, no_device, no_device_autonomous_rose;
- mean change of the autonomous coefficient: with a device 0.25 / 9 = 0.0278, without 0.06 / 3 = 0.0200,
  difference 0.0078;
- not used: light_truck (not heavy, no device), after_the_period, first_policy (nothing to compare with).
"""
import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..extensions import db

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
_PLATE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Case:
    """One truck's story. Figures: (benchmark premium, NCD, violation, autonomous, premium)."""

    key: str
    county: str
    kind: str
    previous: tuple | None
    renewal: tuple
    device: str | None  # before, late_day_before, early_start_day, removed_before, or None
    heavy: bool = True
    start_offset: int = 10  # days from the period's first day to the renewal's start
    older: tuple | None = None  # a policy a year before the previous one
    reasons: tuple = ()
    excess: str | None = None  # the finding's excess premium, by hand

    @property
    def finding(self):
        return bool(self.reasons)


A, R = "autonomous_rose", "residual_over_tolerance"
CASES = (
    # the autonomous coefficient alone rose, 1.00 -> 1.10: 10000 x 0.85 x 1 x 0.10 = 850.00. The device went on at
    # 23:30 the evening before (still before the renewal); an older policy (A 1.20) is not the one compared with.
    Case("autonomous_rose", "445102", "commercial", ("10000.00", "0.8500", "1.0000", "1.0000", "8500.00"),
         ("10000.00", "0.8500", "1.0000", "1.1000", "9350.00"), "late_day_before",
         older=("10000.00", "0.8500", "1.0000", "1.2000", "10200.00"), reasons=(A,), excess="850.00"),
    # claims: NCD 1.0 -> 1.2 explains 12000 x 0.2 x 1 x 0.95 = 2280.00: no finding
    Case("ncd_rose", "445103", "commercial", ("12000.00", "1.0000", "1.0000", "0.9500", "11400.00"),
         ("12000.00", "1.2000", "1.0000", "0.9500", "13680.00"), "before"),
    # same factors, 150.00 more: unexplained
    Case("unexplained_rise", "445122", "commercial", ("8000.00", "0.7000", "1.0000", "1.0000", "5600.00"),
         ("8000.00", "0.7000", "1.0000", "1.0000", "5750.00"), "before", reasons=(R,), excess="150.00"),
    # cover +850.00, NCD -550.00, violations +880.00, autonomous 1.00 -> 1.05 +484.00, residual 0.60 (under tolerance)
    Case("several_factors", "445102", "commercial", ("10000.00", "0.8500", "1.0000", "1.0000", "8500.00"),
         ("11000.00", "0.8000", "1.1000", "1.0500", "10164.60"), "before", reasons=(A,), excess="484.00"),
    # compulsory cover, 168.00 more with the same factors
    Case("compulsory_unexplained", "445103", "compulsory", ("4480.00", "0.9000", "1.0000", "1.0000", "4032.00"),
         ("4480.00", "0.9000", "1.0000", "1.0000", "4200.00"), "before", reasons=(R,), excess="168.00"),
    # autonomous 0.95 -> 1.00 (+450.00) and 20.00 unexplained
    Case("both_reasons", "445122", "commercial", ("9000.00", "1.0000", "1.0000", "0.9500", "8550.00"),
         ("9000.00", "1.0000", "1.0000", "1.0000", "9020.00"), "before", reasons=(A, R), excess="470.00"),
    # the autonomous coefficient fell: no finding
    Case("autonomous_fell", "445102", "commercial", ("10000.00", "1.0000", "1.0000", "1.1000", "11000.00"),
         ("10000.00", "1.0000", "1.0000", "1.0000", "10000.00"), "before"),
    # exactly 1.00 unexplained: not above the tolerance
    Case("residual_at_tolerance", "445103", "commercial", ("6000.00", "1.0000", "1.0000", "1.0000", "6000.00"),
         ("6000.00", "1.0000", "1.0000", "1.0000", "6001.00"), "before"),
    # installed at 00:30 on the renewal's first day (16:30 UTC the day before): not before it, so in the cohort
    Case("installed_on_start_day", "445102", "commercial", ("10000.00", "1.0000", "1.0000", "1.0000", "10000.00"),
         ("10000.00", "1.0000", "1.0000", "1.0500", "10500.00"), "early_start_day"),
    # the device was removed before the renewal: the truck joined the programme all the same
    Case("removed_before_renewal", "445122", "commercial", ("10000.00", "1.0000", "1.0000", "1.0000", "10000.00"),
         ("10000.00", "1.0000", "1.0000", "1.1500", "11500.00"), "removed_before", reasons=(A,), excess="1500.00"),
    Case("no_device", "445103", "commercial", ("10000.00", "0.9000", "1.0000", "1.0000", "9000.00"),
         ("10000.00", "0.9000", "1.0000", "1.0000", "9000.00"), None),
    Case("no_device_autonomous_rose", "445122", "commercial", ("10000.00", "1.0000", "1.0000", "1.0000", "10000.00"),
         ("10000.00", "1.0000", "1.0000", "1.0100", "10100.00"), None),
    Case("light_truck", "445102", "commercial", ("5000.00", "1.0000", "1.0000", "1.0000", "5000.00"),
         ("5000.00", "1.0000", "1.0000", "1.2000", "6000.00"), None, heavy=False),
    Case("after_the_period", "445102", "commercial", ("10000.00", "1.0000", "1.0000", "1.0000", "10000.00"),
         ("10000.00", "1.0000", "1.0000", "1.2000", "12000.00"), "before", start_offset=120),
    Case("first_policy", "445103", "commercial", None, ("10000.00", "1.0000", "1.0000", "1.3000", "13000.00"), "before"),
)


def quarter_end(period_from):
    """The last day of the three months starting on ``period_from`` (a month's first day)."""
    month = period_from.month + 3
    year = period_from.year + (month - 1) // 12
    return dt.date(year, (month - 1) % 12 + 1, 1) - dt.timedelta(days=1)


@dataclass
class SeededHistory:
    period_from: dt.date
    period_to: dt.date
    trucks: dict  # case key -> truck id
    renewals: dict  # case key -> the renewal policy's id


def _moment(day, hour, minute=0):
    return dt.datetime.combine(day, dt.time(hour, minute), LOCAL_TZ)


def _installation_times(case, start):
    """(installed_at, removed_at) for a case's device, relative to its renewal's start date."""
    return {
        "before": (_moment(start - dt.timedelta(days=45), 10), None),
        "late_day_before": (_moment(start - dt.timedelta(days=1), 23, 30), None),
        "early_start_day": (_moment(start, 0, 30), None),
        "removed_before": (_moment(start - dt.timedelta(days=200), 10), _moment(start - dt.timedelta(days=30), 15)),
    }[case.device]


def _plate(rng):
    from ..fleet.models import Truck

    while True:
        plate = "粤U" + "".join(rng.choice(_PLATE_CHARS) for _ in range(5))
        if db.session.scalar(select(Truck.id).where(Truck.plate == plate)) is None:
            return plate


def _policy(fleet, truck, case, figures, start, serial):
    benchmark, ncd, violation, autonomous, premium = (Decimal(v) for v in figures)
    prefix = "PDAA" if case.kind == "commercial" else "PDZA"
    return fleet.create_policy({
        "number": f"{prefix}{start:%Y%m%d}{truck.county_code}{serial:06d}", "truck_id": truck.id, "kind": case.kind,
        "start_date": start, "end_date": start.replace(year=start.year + 1) - dt.timedelta(days=1),
        "premium": premium, "benchmark_premium": benchmark, "ncd_coefficient": ncd,
        "violation_coefficient": violation, "autonomous_coefficient": autonomous,
    })


def _devices(count, order_date, tag):
    """``count`` devices received on a purchase order of a usable catalogue entry (one is added if none is)."""
    from ..catalogue.models import CatalogueEntry
    from ..catalogue.service import create_entry
    from ..inventory import service as inventory
    from ..inventory.models import Device
    from ..luhn import check_digit

    entry = next((e for e in db.session.scalars(select(CatalogueEntry).order_by(CatalogueEntry.id))
                  if e.usable_on(order_date) is None), None)
    if entry is None:
        entry = create_entry({
            "tender_batch": "GD-AUDIT-SAMPLE", "lot": "1", "manufacturer": "深圳市锐明技术股份有限公司",
            "model_code": f"AUDIT-SAMPLE-{tag}", "device_type": "all_in_one", "adas": True, "dsm": True, "bsd": False,
            "video_channels": 4, "jtt808": True, "jtt1078": True, "gd_active_safety": True,
            "bid_unit_price": Decimal("3280.00"), "valid_from": order_date - dt.timedelta(days=365), "valid_to": None,
        })
    po = inventory.create_purchase_order({
        "number": f"PO-AUDIT-SAMPLE-{tag}", "supplier": "深圳市锐明技术股份有限公司", "order_date": order_date,
        "note": "审计样例", "lines": [{"catalogue_entry_id": entry.id, "quantity": count,
                                           "unit_price": entry.bid_unit_price}],
    })
    items = []
    for n in range(1, count + 1):
        body = f"8698{tag}{n:06d}"
        items.append({"serial": f"AUD-{tag}-{n:04d}", "terminal_id": f"TAUD{tag}{n:04d}", "imei": body + check_digit(body)})
    result = inventory.receive_devices(po, po.lines[0].id, items, received_on=order_date + dt.timedelta(days=7))
    return [db.session.get(Device, i) for i in result["device_ids"]]


def _install(truck, device, installed_at, removed_at, serial):
    from ..installs.models import Installation, WorkOrder

    order = WorkOrder(number=f"WO-AUD-{truck.id:06d}-{serial:03d}", kind="install", state="completed",
                      truck_id=truck.id, installed_at=installed_at, device_id=device.id, note="审计样例")
    db.session.add(order)
    db.session.flush()
    device.status = "installed" if removed_at is None else "in_stock"
    db.session.add(Installation(device_id=device.id, truck_id=truck.id, work_order_id=order.id,
                                installed_at=installed_at, removed_at=removed_at))


def seed_renewal_history(period_from=dt.date(2025, 7, 1), seed=6):
    """Add the trucks, policies and devices of ``CASES`` for the quarter from ``period_from``; commits."""
    from ..fleet import service as fleet
    from ..fleet.identifiers import make_credit_code, make_vin

    rng = random.Random(f"{seed}-{period_from.isoformat()}")
    tag = f"{period_from:%y%m}"
    starts = {case.key: period_from + dt.timedelta(days=case.start_offset) for case in CASES}
    with_device = [case for case in CASES if case.device]
    earliest = min(_installation_times(case, starts[case.key])[0] for case in with_device).date()
    devices = iter(_devices(len(with_device), earliest - dt.timedelta(days=30), tag))
    trucks, renewals = {}, {}
    for serial, case in enumerate(CASES, start=1):
        operator = fleet.create_operator({"name": f"潮州市审计样本物流有限公司{tag}{serial:02d}",
                                          "credit_code": make_credit_code(rng, division=case.county),
                                          "county_code": case.county})
        truck = fleet.create_truck({
            "plate": _plate(rng), "plate_colour": 2, "vin": make_vin(rng), "vehicle_type": "goods_vehicle",
            "total_mass_kg": 18_000 if case.heavy else 8_000, "county_code": case.county, "operator_id": operator.id,
        })
        start = starts[case.key]
        if case.older:
            _policy(fleet, truck, case, case.older, start.replace(year=start.year - 2), serial)
        if case.previous:
            _policy(fleet, truck, case, case.previous, start.replace(year=start.year - 1), serial)
        renewals[case.key] = _policy(fleet, truck, case, case.renewal, start, serial).id
        if case.device:
            _install(truck, next(devices), *_installation_times(case, start), serial)
        trucks[case.key] = truck.id
    db.session.commit()
    return SeededHistory(period_from, quarter_end(period_from), trucks, renewals)
