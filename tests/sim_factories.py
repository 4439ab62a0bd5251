"""SIM registry test data: plan payloads and files, SIM files, plans stored directly."""
import datetime as dt
from decimal import Decimal
from pathlib import Path

from insurer_dms.extensions import db
from tests.factories import csv_bytes, upload, xlsx_bytes  # noqa: F401  (re-exported for the tests)
from tests.install_factories import iccid, msisdn  # noqa: F401

SAMPLE_PLANS = Path("/work/shared/samples/data-plans-china_mobile.csv")
PLAN_HEADERS = ["code", "carrier", "monthly_fee", "allowance_mb", "overage_per_mb"]
SIM_HEADERS = ["iccid", "msisdn", "carrier", "plan", "status", "activated_on"]
SIM_HEADERS_ZH = ["ICCID", "号码", "运营商", "套餐", "状态", "激活日期"]


def plan_payload(**overrides):
    data = {"carrier": "china_mobile", "code": "CM-IOT-1G", "monthly_fee": "10.00", "allowance_mb": 1024,
            "overage_per_mb": "0.29"}
    data.update(overrides)
    return data


def make_plan(carrier="china_mobile", code="CM-IOT-1G", fee="10.00", allowance=1024, overage="0.29"):
    """A stored plan (committed)."""
    from insurer_dms.sims.models import DataPlan

    plan = DataPlan(carrier=carrier, code=code, name=code, monthly_fee=Decimal(fee), allowance_mb=allowance,
                    overage_per_mb=Decimal(overage), valid_from=dt.date(2020, 1, 1))
    db.session.add(plan)
    db.session.commit()
    return plan


def plan_rows(count, carrier="china_mobile"):
    """``count`` valid plan rows in PLAN_HEADERS order."""
    return [[f"P-{i:04d}", carrier, f"{10 + i}.00", str(1024 * (1 + i % 10)), "0.29"] for i in range(count)]


def sim_rows(count, plan="CM-IOT-1G", start=1):
    """``count`` valid China Mobile SIM rows in SIM_HEADERS order: most in stock, every fifth active."""
    rows = []
    for n in range(start, start + count):
        active = n % 5 == 0
        rows.append([iccid(n), msisdn(n), "china_mobile", plan, "active" if active else "in_stock",
                     "2024-05-01" if active else ""])
    return rows


def sim_payload(n=1, **overrides):
    data = {"iccid": iccid(n), "msisdn": msisdn(n)}
    data.update(overrides)
    return data
