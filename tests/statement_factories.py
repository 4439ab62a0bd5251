"""Statement test data built directly with the models: plans, SIMs and statements with their lines.

Used by the reconciliation tests (the real upload path is sims.statements.ingest_statement). Needs an app context.
"""
import datetime as dt
import hashlib
import itertools
import uuid
from decimal import Decimal

from sqlalchemy import func, insert, select, update

from insurer_dms.extensions import db
from insurer_dms.sims.models import DataPlan, Sim, Statement, StatementLine
from tests.install_factories import iccid, msisdn

_SEQ = itertools.count(1)
PERIOD = "2026-09"  # 30 days


def plan(code=None, fee="30.00", allowance_mb=1024, overage="0.29", carrier="china_mobile"):
    """A data plan (default: 30.00 CNY a month, 1 GB, 0.29 CNY per started MB beyond it)."""
    item = DataPlan(carrier=carrier, code=code or f"CM-T-{next(_SEQ)}", name="test plan", monthly_fee=Decimal(fee),
                    allowance_mb=allowance_mb, overage_per_mb=Decimal(overage), valid_from=dt.date(2021, 1, 1))
    db.session.add(item)
    db.session.commit()
    return item


def sim(data_plan=None, status="active", activated_on=dt.date(2025, 1, 1), deactivated_on=None, number=None):
    """One of our SIMs (China Mobile), active since 2025 unless told otherwise."""
    n = number or 500_000 + next(_SEQ)
    item = Sim(iccid=iccid(n), msisdn=msisdn(n), carrier="china_mobile", status=status,
               plan_id=data_plan.id if data_plan else None, activated_on=activated_on, deactivated_on=deactivated_on)
    db.session.add(item)
    db.session.commit()
    return item


def line(iccid_, plan_fee, overage_fee="0.00", total_fee=None, data_kb=0, msisdn_=None, sms_count=0):
    """A statement line as a dict; total_fee defaults to plan_fee + overage_fee."""
    total = Decimal(plan_fee) + Decimal(overage_fee) if total_fee is None else Decimal(total_fee)
    return {"iccid": iccid_, "msisdn": msisdn_, "data_kb": data_kb, "sms_count": sms_count,
            "plan_fee": Decimal(plan_fee), "overage_fee": Decimal(overage_fee), "total_fee": total}


def statement(lines, carrier="china_mobile", period=PERIOD, status="queued"):
    """A new statement version with ``lines`` (row numbers from 2, as in the file, repeated ICCIDs noted as the
    upload notes them); older versions superseded."""
    version = (db.session.scalar(select(func.max(Statement.version)).where(
        Statement.carrier == carrier, Statement.period == period)) or 0) + 1
    sha = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    item = Statement(carrier=carrier, period=period, version=version, sha256=sha, filename=f"{period}.csv",
                     object_key=f"statements/{carrier}/{period}/v{version}-{sha[:12]}.csv", status=status,
                     line_count=len(lines), billed_total=sum((ln["total_fee"] for ln in lines), Decimal("0.00")))
    db.session.add(item)
    db.session.flush()
    db.session.execute(update(Statement).where(
        Statement.carrier == carrier, Statement.period == period, Statement.version < version
    ).values(status="superseded", superseded_by_id=item.id))
    if lines:
        first_rows = {}  # as the upload notes them: a repeated ICCID's earlier row
        rows = [{"statement_id": item.id, "row_no": i + 2, **ln} for i, ln in enumerate(lines)]
        for row in rows:
            first = first_rows.setdefault(row["iccid"], row["row_no"])
            row["first_row"] = None if first == row["row_no"] else first
        db.session.execute(insert(StatementLine), rows)
    db.session.commit()
    return item


def mixed_month(count, period=PERIOD):
    """``count`` SIMs on one 20.00 CNY plan and a statement with a mix of every outcome (bulk inserts)."""
    data_plan = plan(fee="20.00", allowance_mb=1024, overage="0.10")
    base = 2_000_000 + next(_SEQ) * 1_000_000
    sims = []
    for i in range(count):
        retired = i % 25 == 3
        sims.append({"iccid": iccid(base + i), "msisdn": msisdn(base + i), "carrier": "china_mobile", "plan_id": data_plan.id,
                     "status": "retired" if retired else "active", "activated_on": dt.date(2025, 1, 1),
                     "deactivated_on": dt.date(2026, 1, 31) if retired else None})
    db.session.execute(insert(Sim), sims)
    lines = []
    for i, s in enumerate(sims):
        if i % 33 == 5:
            continue  # missing
        fee = "22.00" if i % 10 == 1 else "20.00"
        lines.append(line(s["iccid"], fee, data_kb=(i % 7) * 400 * 1024))
        if i % 20 == 2:
            lines.append(line(s["iccid"], "20.00"))  # duplicate
        if i % 30 == 4:
            lines[-1]["total_fee"] += Decimal("1.00")  # inconsistent
        if i % 19 == 6:
            lines.append(line(iccid(base + count + i), "20.00"))  # not ours
    for ln in lines:  # overage as billed by the carrier
        over = max(0, ln["data_kb"] - 1024 * 1024)
        if over:
            ln["overage_fee"] = Decimal((over + 1023) // 1024) * Decimal("0.10")
            ln["total_fee"] += ln["overage_fee"]
    db.session.commit()
    return statement(lines, period=period)


def iccid_not_ours():
    """A valid China Mobile ICCID that no test SIM uses."""
    return iccid(888_888_888)
