"""Renewals for the audit, and the canonical form of the inputs a run used (hashed when it is published).

A renewal is a policy paired with the previous policy of the same truck and kind: the latest one starting
strictly before it (on a tie of start dates, the one recorded last, i.e. the highest id). Two queries whatever
the size of the city: the policies of every truck with a policy starting in the period (those starting after the
period are left out), and each such truck's first installation. The pairing runs in Python over rows sorted by
truck, kind and start date.

Which renewals a run uses:
- **with a device** (the audited population): a device was installed on the truck before the renewal started,
  i.e. its first installation's ``installed_at`` is before 00:00 Asia/Shanghai of the renewal's start date;
  what happened to the device later (removed, swapped) does not matter, the truck joined the programme;
- **comparison cohort**: no device installed before the renewal started, on a heavy truck (fleet.service.heavy_rule).
Every other renewal (a light truck without a device) is not used.
"""
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ..extensions import db
from ..fleet.models import Policy, Truck
from ..installs.models import Installation
from .decomposition import Pricing

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class PolicyFigures:
    id: int
    number: str
    start_date: dt.date
    end_date: dt.date
    pricing: Pricing


@dataclass(frozen=True)
class Renewal:
    truck_id: int
    plate: str
    operator_id: int
    county_code: str
    heavy: bool
    product: str  # the policy kind: commercial or compulsory
    policy: PolicyFigures
    previous: PolicyFigures
    first_installed_at: dt.datetime | None  # the truck's first installation, whenever it was

    @property
    def starts_at(self):
        """00:00 in Chaozhou on the renewal's start date, as an aware datetime."""
        return dt.datetime.combine(self.policy.start_date, dt.time(0), LOCAL_TZ)

    @property
    def with_device(self):
        return self.first_installed_at is not None and self.first_installed_at < self.starts_at

    @property
    def in_cohort(self):
        return not self.with_device and self.heavy


def _policy_rows(period_from, period_to, counties):
    starting = select(Policy.truck_id).where(Policy.start_date.between(period_from, period_to))
    stmt = (
        select(Policy.id, Policy.number, Policy.truck_id, Policy.kind, Policy.start_date, Policy.end_date, Policy.premium,
               Policy.benchmark_premium, Policy.ncd_coefficient, Policy.violation_coefficient,
               Policy.autonomous_coefficient, Truck.plate, Truck.operator_id, Truck.county_code,
               Truck.is_heavy.label("heavy"))
        .join(Truck, Truck.id == Policy.truck_id)
        .where(Policy.truck_id.in_(starting), Policy.start_date <= period_to)
        .order_by(Policy.truck_id, Policy.kind, Policy.start_date, Policy.id)
    )
    if counties:
        stmt = stmt.where(Truck.county_code.in_(counties))
    return db.session.execute(stmt)


def _first_installations(period_from, period_to):
    starting = select(Policy.truck_id).where(Policy.start_date.between(period_from, period_to))
    rows = db.session.execute(
        select(Installation.truck_id, func.min(Installation.installed_at))
        .where(Installation.truck_id.in_(starting))
        .group_by(Installation.truck_id)
    )
    return dict(rows.all())


def _figures(row):
    return PolicyFigures(row.id, row.number, row.start_date, row.end_date, Pricing.of(row))


def renewals(period_from, period_to, counties=None):
    """Every renewal starting within [period_from, period_to] on a truck in ``counties`` (None: everywhere)."""
    installed = _first_installations(period_from, period_to)
    found, group, key = [], [], None
    for row in _policy_rows(period_from, period_to, counties):
        if (row.truck_id, row.kind) != key:
            found += _pair(group, period_from, installed)
            group, key = [], (row.truck_id, row.kind)
        group.append(row)
    found += _pair(group, period_from, installed)
    return found


def _pair(rows, period_from, installed):
    """Renewals within one truck's policies of one kind (sorted by start date, then id)."""
    paired = []
    for i, row in enumerate(rows):
        if row.start_date < period_from:
            continue
        j = i - 1
        while j >= 0 and rows[j].start_date == row.start_date:
            j -= 1
        if j < 0:
            continue  # the truck's first policy of this kind: nothing to compare with
        paired.append(Renewal(row.truck_id, row.plate, row.operator_id, row.county_code, bool(row.heavy), row.kind,
                              _figures(row), _figures(rows[j]), installed.get(row.truck_id)))
    return paired


# ---------------------------------------------------------------- the inputs, canonically


def _policy_json(figures):
    p = figures.pricing
    return {"id": figures.id, "number": figures.number, "start_date": figures.start_date.isoformat(),
            "end_date": figures.end_date.isoformat(), "premium": f"{p.premium:.2f}",
            "benchmark_premium": f"{p.benchmark:.2f}", "ncd_coefficient": f"{p.ncd:.4f}",
            "violation_coefficient": f"{p.violation:.4f}", "autonomous_coefficient": f"{p.autonomous:.4f}"}


def canonical_inputs(scope, used):
    """The inputs of a run as canonical JSON bytes: what its SHA-256 (``inputs_sha256``) is taken of.

    ``scope``: period, counties and tolerance. ``used``: the renewals of the population and of the cohort. One
    object per renewal, sorted by the renewal policy's id, with both policies' figures (money to 2 decimals,
    coefficients to 4, dates ISO), the truck's county and heaviness and its first installation (UTC ISO, or null);
    keys sorted, no spaces, UTF-8.
    """
    items = [
        {"group": "with_device" if r.with_device else "cohort", "truck_id": r.truck_id, "county_code": r.county_code,
         "heavy": r.heavy, "product": r.product, "first_installed_at": _utc_iso(r.first_installed_at),
         "policy": _policy_json(r.policy), "previous_policy": _policy_json(r.previous)}
        for r in sorted(used, key=lambda r: r.policy.id)
    ]
    document = {"scope": scope, "renewals": items}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _utc_iso(moment):
    return moment.astimezone(dt.timezone.utc).isoformat() if moment is not None else None


def inputs_sha256(scope, used):
    return hashlib.sha256(canonical_inputs(scope, used)).hexdigest()
