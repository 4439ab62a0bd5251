"""The heavy-truck rule and device eligibility, in Python and in SQL."""
import datetime as dt
import random
from decimal import Decimal

import pytest
from sqlalchemy import select

from insurer_dms.activity import history
from insurer_dms.extensions import db
from insurer_dms.fleet import service
from insurer_dms.fleet.identifiers import make_credit_code, make_vin
from insurer_dms.fleet.models import Truck

RNG = random.Random(42)
DAY = dt.date(2024, 6, 1)


def make_operator():
    return service.create_operator({"name": "潮州市顺达物流有限公司", "credit_code": make_credit_code(RNG), "county_code": "445102"})


def make_truck(operator, vehicle_type="goods_vehicle", mass=18_000, plate=None):
    return service.create_truck(
        {"plate": plate or f"粤U{RNG.randrange(10000, 99999)}", "plate_colour": 2, "vin": make_vin(RNG), "vehicle_type": vehicle_type,
         "total_mass_kg": mass, "county_code": "445103", "operator_id": operator.id}
    )


def make_policy(truck, start=dt.date(2024, 3, 1), end=dt.date(2025, 2, 28), kind="commercial", number=None):
    return service.create_policy(
        {"number": number or f"PDAA2024{RNG.randrange(10**9)}", "truck_id": truck.id, "kind": kind, "start_date": start, "end_date": end,
         "premium": Decimal("9180.00"), "benchmark_premium": Decimal("10800.00"), "ncd_coefficient": Decimal("0.85"),
         "autonomous_coefficient": Decimal("1.0000")}
    )


@pytest.mark.parametrize(
    "vehicle_type, mass, heavy",
    [
        ("goods_vehicle", 11_999, False),
        ("goods_vehicle", 12_000, True),
        ("goods_vehicle", 49_000, True),
        ("semi_trailer_tractor", 8_800, True),  # a tractor is heavy whatever its own mass
        ("semi_trailer_tractor", 25_000, True),
        ("special_purpose", 33_000, False),  # special-purpose vehicles are outside the programme
        ("trailer", 40_000, False),
        ("other", 20_000, False),
    ],
)
def test_heavy_truck_rule(vehicle_type, mass, heavy):
    assert service.heavy_rule(vehicle_type, mass) is heavy


def test_is_heavy_on_the_model_and_in_sql_agree(ctx):
    operator = make_operator()
    trucks = {
        (vt, mass): make_truck(operator, vt, mass)
        for vt, mass in [("goods_vehicle", 11_999), ("goods_vehicle", 12_000), ("semi_trailer_tractor", 8_800), ("special_purpose", 33_000), ("trailer", 40_000)]
    }
    assert {k: t.is_heavy for k, t in trucks.items()} == {
        ("goods_vehicle", 11_999): False, ("goods_vehicle", 12_000): True, ("semi_trailer_tractor", 8_800): True,
        ("special_purpose", 33_000): False, ("trailer", 40_000): False,
    }
    heavy_ids = set(db.session.scalars(select(Truck.id).where(Truck.is_heavy)))
    light_ids = set(db.session.scalars(select(Truck.id).where(~Truck.is_heavy)))
    assert heavy_ids == {t.id for t in trucks.values() if t.is_heavy}
    assert light_ids == {t.id for t in trucks.values() if not t.is_heavy}
    listed = db.session.scalars(service.truck_query(heavy=True)).all()
    assert {t.id for t in listed} == heavy_ids


def test_a_heavy_truck_with_a_policy_in_force_is_eligible(ctx):
    truck = make_truck(make_operator(), "semi_trailer_tractor", 25_000)
    make_policy(truck)
    assert service.eligibility(truck, DAY) == []


def test_policy_cover_includes_its_first_and_last_day(ctx):
    truck = make_truck(make_operator())
    policy = make_policy(truck, start=dt.date(2024, 3, 1), end=dt.date(2025, 2, 28))
    assert service.policy_in_force(truck, dt.date(2024, 3, 1)) == policy
    assert service.policy_in_force(truck, dt.date(2025, 2, 28)) == policy
    assert service.policy_in_force(truck, dt.date(2024, 2, 29)) is None
    assert service.policy_in_force(truck, dt.date(2025, 3, 1)) is None


def test_ineligible_truck_gets_every_reason(ctx):
    truck = make_truck(make_operator(), "goods_vehicle", 11_999)
    make_policy(truck, start=dt.date(2023, 3, 1), end=dt.date(2024, 2, 29))  # expired before DAY
    reasons = service.eligibility(truck, DAY)
    assert [r["code"] for r in reasons] == ["not_heavy", "no_policy_in_force"]
    assert "2024-06-01" in reasons[1]["message"]


def test_compulsory_cover_alone_makes_a_heavy_truck_ours(ctx):
    truck = make_truck(make_operator(), "goods_vehicle", 12_000)
    service.create_policy(
        {"number": "PDZA2024445103000001", "truck_id": truck.id, "kind": "compulsory", "start_date": dt.date(2024, 1, 1),
         "end_date": dt.date(2024, 12, 31), "premium": Decimal("4032.00"), "benchmark_premium": Decimal("4480.00"),
         "ncd_coefficient": Decimal("0.9")}
    )
    assert service.eligibility(truck, DAY) == []


def test_later_capabilities_can_add_eligibility_checks(ctx):
    truck = make_truck(make_operator(), "semi_trailer_tractor", 25_000)
    make_policy(truck)

    def device_installed(truck, day):
        return {"code": "device_installed", "message": "A device is already installed."}

    service.register_eligibility_check(device_installed)
    try:
        assert [r["code"] for r in service.eligibility(truck, DAY)] == ["device_installed"]
    finally:
        service.ELIGIBILITY_CHECKS.remove(device_installed)


def test_creating_and_changing_a_truck_is_recorded(ctx):
    truck = make_truck(make_operator(), "goods_vehicle", 11_000)
    service.update_truck(truck.id, {"total_mass_kg": 12_500, "county_code": "445103"})
    entries = history("truck", truck.id)
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].before == {"total_mass_kg": 11_000}
    assert entries[1].after == {"total_mass_kg": 12_500}
    assert truck.is_heavy
