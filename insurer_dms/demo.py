"""Realistic Chaozhou demo data, loaded through the same services as real files.

The fleet comes in as a policy-system export and the catalogue as a tender-catalogue file, so
``demo load`` exercises the import rules end to end.
"""
import datetime as dt
import random
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from .exports import csv_bytes
from .extensions import db
from .luhn import check_digit
from .types import utcnow

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

DEMO_PASSWORD = "demo-password"
OPS_EMAIL = "ops@demo.insurer.cn"
REVIEWER_EMAIL = "reviewer@demo.nfra.cn"
CONTRACTORS = (
    ("tech@alpha.demo.cn", "潮州安驰车联网科技有限公司"),
    ("tech@beta.demo.cn", "潮安通达智能设备安装有限公司"),
    ("tech@gamma.demo.cn", "饶平顺安电子工程有限公司"),
)
# GB/T 2260 codes of the four districts (Fengxi is managed under Xiangqiao's 445102), with their share of trucks.
COUNTY_WEIGHTS = (("445102", 0.40), ("445103", 0.35), ("445122", 0.25))

CATALOGUE = (
    # batch, lot, manufacturer, model, type, adas, dsm, bsd, channels, 808, 1078, gd, price, from, to, withdrawn
    ("GD-2021-01", "1", "深圳市锐明技术股份有限公司", "M1N-ADAS-4", "all_in_one", 1, 1, 0, 4, 1, 1, 1, "3280.00", "2021-01-15", "2026-12-31", ""),
    ("GD-2021-01", "1", "深圳市有为信息技术发展有限公司", "YW-Z4C", "all_in_one", 1, 1, 0, 4, 1, 1, 1, "3150.00", "2021-01-15", "2026-12-31", ""),
    ("GD-2021-01", "2", "广州通达汽车电气股份有限公司", "TD-AS6", "split", 1, 1, 1, 6, 1, 1, 1, "4680.00", "2021-01-15", "2026-12-31", ""),
    ("GD-2021-01", "2", "厦门雅迅网络股份有限公司", "YX-G7", "split", 1, 1, 1, 8, 1, 1, 1, "5290.00", "2021-01-15", "2026-12-31", ""),
    ("GD-2021-01", "3", "深圳市天迹科技有限公司", "TJ-DVR4", "all_in_one", 1, 1, 0, 4, 1, 1, 1, "2990.00", "2021-01-15", "2024-06-30", "2023-11-01"),
    ("GD-2023-02", "1", "深圳市锐明技术股份有限公司", "M1N-ADAS-6B", "split", 1, 1, 1, 6, 1, 1, 1, "4390.00", "2023-03-01", "2027-02-28", ""),
    ("GD-2023-02", "1", "杭州海康汽车软件有限公司", "AE-MD5020", "all_in_one", 1, 1, 0, 4, 1, 1, 1, "3360.00", "2023-03-01", "2027-02-28", ""),
    ("GD-2023-02", "2", "江苏本能科技有限公司", "BN-AS8", "split", 1, 1, 1, 8, 1, 1, 1, "5120.00", "2023-03-01", "2027-02-28", ""),
)

CATALOGUE_HEADERS = (
    "tender_batch", "lot", "manufacturer", "model_code", "device_type", "adas", "dsm", "bsd", "video_channels",
    "jtt808", "jtt1078", "gd_active_safety", "bid_unit_price", "valid_from", "valid_to", "withdrawn_on",
)
# (purchase order, supplier, order date, [(model_code, quantity, unit price, received)])
PURCHASES = (
    ("PO-2024-001", "深圳市锐明技术股份有限公司", dt.date(2024, 3, 5), [("M1N-ADAS-4", 300, "3180.00", 300), ("M1N-ADAS-6B", 200, "4290.00", 200)]),
    ("PO-2025-007", "广州通达汽车电气股份有限公司", dt.date(2025, 6, 18), [("TD-AS6", 250, "4600.00", 250)]),
    ("PO-2026-003", "杭州海康汽车软件有限公司", dt.date(2026, 9, 1), [("AE-MD5020", 400, "3300.00", 260)]),
)


def _catalogue_csv():
    return csv_bytes([CATALOGUE_HEADERS, *CATALOGUE], bom=False)


def _fleet_rows(trucks, rng, today):
    """Policy-export rows: each truck has this year's commercial and compulsory cover, most with last year's too."""
    from .fleet.samples import ExportBuilder

    builder = ExportBuilder(seed=rng.randrange(1 << 30))
    counties = [c for c, _ in COUNTY_WEIGHTS]
    weights = [w for _, w in COUNTY_WEIGHTS]
    rows, made = [], 0
    while made < trucks:
        operator = builder.operator(rng.choices(counties, weights)[0])
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 5))):
            if made == trucks:
                break
            truck = builder.truck(operator)
            made += 1
            start = today - dt.timedelta(days=rng.randrange(15, 360))  # renewed within the last year
            lapsed = rng.random() < 0.04  # a few trucks whose cover was not renewed
            years = [start.replace(year=start.year - 1)] + ([] if lapsed else [start])
            if rng.random() < 0.8:
                years.insert(0, start.replace(year=start.year - 2))
            policies = [builder.policy(truck, kind, year_start) for year_start in years for kind in ("商业险", "交强险")]
            rows += _steady_pricing(policies, raise_last=made % 40 == 0)
    return rows


def _steady_pricing(policies, raise_last=False):
    """One autonomous coefficient for all of a truck's commercial policies, as the programme requires; with
    ``raise_last`` the latest one is 0.10 higher (what the no-premium-increase audit exists to find)."""
    commercial = sorted((p for p in policies if p["险种"] == "商业险"), key=lambda p: p["起保日期"])
    if not commercial:
        return policies
    steady = Decimal(commercial[0]["自主定价系数"])
    for i, policy in enumerate(commercial):
        autonomous = steady + Decimal("0.10") if raise_last and i == len(commercial) - 1 and i > 0 else steady
        policy["自主定价系数"] = str(autonomous)
        premium = Decimal(policy["基准保费"]) * Decimal(policy["NCD系数"]) * autonomous * Decimal(policy["交通违法系数"])
        policy["保费"] = str(premium.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    return policies


def _serial(prefix, n):
    return f"{prefix}{n:07d}"


def _purchases(rng):
    """Place the demo purchase orders and receive their devices through the inventory rules."""
    from .catalogue.models import CatalogueEntry
    from .inventory import service as inventory
    from .luhn import check_digit

    entries = {e.model_code: e for e in db.session.scalars(select(CatalogueEntry))}
    made = 0
    for number, supplier, order_date, lines in PURCHASES:
        po = inventory.create_purchase_order({
            "number": number, "supplier": supplier, "order_date": order_date, "note": "demo",
            "lines": [{"catalogue_entry_id": entries[m].id, "quantity": q, "unit_price": Decimal(p)} for m, q, p, _ in lines],
        })
        for line, (model, _, _, received) in zip(po.lines, lines):
            devices = []
            for _ in range(received):
                made += 1
                imei = f"86{rng.randrange(10**11, 10**12):012d}"[:14]
                devices.append({"serial": _serial(model.split("-")[0], made), "terminal_id": f"T{made:010d}",
                                "imei": imei + check_digit(imei)})
            inventory.receive_devices(po, line.id, devices, received_on=order_date + dt.timedelta(days=20))
    return made


COMPANY_FEES = ("280.00", "300.00", "320.00")


def _iccid(n):
    body = f"8986000{n:012d}"  # China Mobile issuer prefix 898600
    return body + check_digit(body)


def _installs(rng, today):
    """Work orders across the programme: opened per county, assigned, scheduled, closed with evidence, connected.

    Everything goes through the same services as the pages: eligibility, photo checks, the close transaction,
    the installation fee in the ledger, and the platform's online-status export processed by its job.
    """
    from .auth.models import ContractorCompany, User
    from .installs import access, evidence, service as installs
    from .installs.models import PHOTO_KINDS, WorkOrder
    from .installs.samples import LOCAL_TZ, photo_jpeg
    from .inventory.models import Device
    from .storage import storage

    ops = db.session.scalar(select(User).where(User.email == OPS_EMAIL))
    companies = db.session.scalars(select(ContractorCompany).order_by(ContractorCompany.id)).all()
    for company, fee in zip(companies, COMPANY_FEES):
        installs.update_company(company.id, {"installation_fee": Decimal(fee)})
    order_ids = []
    for county, _share in COUNTY_WEIGHTS:
        order_ids += installs.bulk_create(county, on=today)["created"]
    rng.shuffle(order_ids)
    stock = db.session.scalars(
        select(Device.serial).where(Device.status == "in_stock").order_by(Device.id)
    ).all()
    closed = []
    for i, order_id in enumerate(order_ids[: int(len(order_ids) * 0.8)]):  # a fifth still waits for a contractor
        installs.assign(order_id, companies[i % len(companies)].id)
        if rng.random() < 0.2:
            continue  # assigned, no appointment yet
        installed_at = dt.datetime.combine(today - dt.timedelta(days=rng.randrange(1, 75)), dt.time(9 + rng.randrange(8)), LOCAL_TZ)
        installs.schedule(ops, order_id, installed_at - dt.timedelta(hours=1), address="驾驶员约定地点")
        if rng.random() < 0.3 or not stock:
            continue  # appointment made, not installed yet
        for kind in PHOTO_KINDS:
            key = f"work-orders/{order_id}/{kind}-demo.jpg"
            storage().put(key, photo_jpeg(installed_at), "image/jpeg")
            evidence.register_photo(ops, order_id, kind, key)
        n = len(closed) + 1
        installs.close_order(ops, order_id, {"device_serial": stock.pop(), "iccid": _iccid(n), "msisdn": f"1440{n:09d}",
                                             "installed_at": installed_at})
        closed.append(order_id)
    # The platform's export: most installed devices have reported in.
    seen = [db.session.get(WorkOrder, order_id) for order_id in closed if rng.random() < 0.75]
    lines = ["终端手机号,车牌号码,最后在线时间"]
    for order in seen:
        last = dt.datetime.combine(today, dt.time(8), LOCAL_TZ) - dt.timedelta(hours=rng.randrange(0, 12))  # after every install
        lines.append(f"{order.sim.msisdn},{order.truck.plate},{last:%Y-%m-%d %H:%M:%S}")
    lines.append("1440999999999,粤U99999,2026-11-20 10:00:00")  # a terminal we do not know: reported as unmatched
    access.start_online_status_import("\n".join(lines).encode("utf-8"), "platform-online-status-demo.csv")
    return len(order_ids), len(closed), len(seen)


PLANS_CSV = """code,carrier,monthly_fee,allowance_mb,overage_per_mb
CM-IOT-1G,china_mobile,10.00,1024,0.29
CM-IOT-3G,china_mobile,20.00,3072,0.20
CM-IOT-10G,china_mobile,45.50,10240,0.10
"""


def _sim_bill(rng, today):
    """Plans on the installed SIMs and last month's China Mobile statement, reconciled through the real job.

    Most lines are right; a few are overbilled, some devices sent no data (probably offline), a few SIMs on the bill
    are not ours, one line is repeated, and a few of our SIMs are missing from it.
    """
    from .sims import plans, registry
    from .sims.charges import expected_charge
    from .sims.models import DataPlan, Sim
    from .sims.statements import ingest_statement

    plans.import_plans(PLANS_CSV.encode("utf-8"), "demo-data-plans.csv")
    plan_list = db.session.scalars(select(DataPlan).order_by(DataPlan.monthly_fee)).all()
    sims = db.session.scalars(select(Sim).where(Sim.status == "active").order_by(Sim.id)).all()
    for sim in sims:
        registry.update_sim(sim.id, {"plan_id": rng.choices(plan_list, weights=(2, 5, 3))[0].id})
    last_month = today.replace(day=1) - dt.timedelta(days=1)
    period = f"{last_month:%Y-%m}"
    rows = []
    for i, sim in enumerate(db.session.scalars(select(Sim).where(Sim.status == "active").order_by(Sim.id))):
        if i % 40 == 7:
            continue  # missing from the bill
        data_kb = 0 if i % 25 == 3 else rng.randrange(200_000, sim.plan.allowance_mb * 1024 * 2)
        charge = expected_charge(sim.plan, sim.status, sim.activated_on, sim.deactivated_on, period, data_kb)
        if charge.active_days == 0:
            continue
        plan_fee, overage = charge.plan_part, charge.overage_part
        if i % 30 == 11:
            plan_fee += Decimal("5.00")  # overbilled
        rows.append([sim.iccid, sim.msisdn, period, data_kb, rng.randrange(0, 30), plan_fee, overage, plan_fee + overage])
    for n in range(3):  # SIMs that are not ours
        rows.append([_iccid(900_000 + n), f"1440{900_000 + n:09d}", period, 512_000, 2, "20.00", "0.00", "20.00"])
    if rows:
        rows.append(list(rows[0]))  # billed twice
    data = csv_bytes([("ICCID", "号码", "账期", "使用流量(KB)", "短信(条)", "套餐费(元)", "超套费(元)", "合计(元)"), *rows])
    statement, _ = ingest_statement(data, f"statement-china_mobile-{period}.csv", "china_mobile")
    return statement


FAULTS = (("camera_fault", "urgent", "驾驶员反映DSM摄像头黑屏"), ("power_wiring", "high", "设备频繁重启，疑似供电线松动"),
          ("physical_damage", "normal", "主机外壳破损"), ("camera_covered", "high", "前向摄像头被遮挡"),
          ("sim_fault", "normal", "终端提示无SIM卡"), ("other", "low", "司机要求调整显示屏位置"))


def _maintenance(rng, now):
    """Tickets in every state: reported faults opened over the last days (some past their SLA), worked by the
    contractors with costs, one device replaced, a few closed; then the SLA job's marks and a road-check file."""
    from .auth.models import ContractorCompany, User
    from .fleet.models import Truck
    from .installs.models import Installation
    from .inventory.models import Device
    from .maintenance import service, sla, tickets
    from .maintenance.road_checks import import_findings, summary

    ops = db.session.scalar(select(User).where(User.email == OPS_EMAIL))
    companies = db.session.scalars(select(ContractorCompany).order_by(ContractorCompany.id)).all()
    mounted = db.session.execute(select(Installation.truck_id, Installation.device_id)
                                 .where(Installation.removed_at.is_(None)).order_by(Installation.id)).all()
    rng.shuffle(mounted)
    opened = []
    for i, (truck_id, device_id) in enumerate(mounted[:min(18, len(mounted) - 3)]):  # 3 left for the road check
        category, priority, note = FAULTS[i % len(FAULTS)]
        at = now - dt.timedelta(hours=rng.randrange(2, 120))
        ticket, _ = tickets.signal(truck_id, category, "operator_call", note=note, device_id=device_id,
                                   priority=priority, at=at)
        db.session.commit()
        opened.append(ticket.id)
    spare = db.session.scalars(select(Device.serial).where(Device.status == "in_stock").order_by(Device.id)).all()
    for i, ticket_id in enumerate(opened):
        if i % 6 == 5:
            continue  # still waiting for a contractor
        service.assign(ticket_id, companies[i % len(companies)].id)
        if i % 6 == 4:
            continue  # assigned, not started
        service.start(ops, ticket_id)
        if i % 6 == 3:
            continue  # in progress
        service.add_cost(ticket_id, "travel", Decimal(rng.choice(("40.00", "60.00", "85.00"))), "往返交通")
        if i == 0 and spare:
            service.resolve(ops, ticket_id, {"resolution": "device_replaced", "note": "主机损坏，整机更换",
                                             "device_serial": spare[0]})
        else:
            service.add_cost(ticket_id, "maintenance_labour", Decimal("120.00"), "上门检修")
            if i % 6 == 1:
                service.add_cost(ticket_id, "parts", Decimal("95.00"), "摄像头线束")
            service.resolve(ops, ticket_id, {"resolution": "repaired_on_site", "note": "已现场修复并确认在线"})
        if i % 6 == 0:
            service.close(ticket_id, "已核实平台在线")
    marked = sla.mark_sla(now)
    db.session.commit()
    # A road check last week: findings on trucks with devices, one truck of ours without, one plate not ours.
    day = (now - dt.timedelta(days=5)).astimezone(LOCAL_TZ).date()
    found = zip((db.session.get(Truck, truck_id).plate for truck_id, _ in mounted[len(opened):]),
                (("G15沈海高速潮州段", "设备损坏"), ("国道324线庵埠路段", "摄像头遮挡"), ("潮汕环线高速", "不在线")))
    lines = ["检查日期,车牌号码,地点,检查结果"] + [f"{day},{plate},{place},{finding}" for plate, (place, finding) in found]
    bare = db.session.scalar(select(Truck.plate).where(Truck.id.not_in(select(Installation.truck_id)))
                             .order_by(Truck.id).limit(1))
    if bare:
        lines.append(f"{day},{bare},潮州港货运站,未安装设备")
    lines.append(f"{day},粤U00000,潮州港货运站,未安装设备")
    road_check = import_findings("\n".join(lines).encode("utf-8"), "road-check-demo.csv", user_id=ops.id)
    return len(opened), marked, summary(road_check)


def _audit(today):
    """The last full quarter audited (with its worked cases from audits.samples), published; a reviewer's query
    on a finding, answered by operations."""
    from .audits import queries, samples, service as audits
    from .auth.models import User

    quarter_first = dt.date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    period_from = (quarter_first - dt.timedelta(days=1)).replace(day=1)
    period_from = period_from.replace(month=(period_from.month - 1) // 3 * 3 + 1)
    samples.seed_renewal_history(period_from)
    ops = db.session.scalar(select(User).where(User.email == OPS_EMAIL))
    reviewer = db.session.scalar(select(User).where(User.email == REVIEWER_EMAIL))
    audit = audits.create_audit(period_from, samples.quarter_end(period_from), user_id=ops.id)
    if audit.status != "draft":
        return audit
    audit = audits.publish(audit.id, user_id=ops.id)
    finding = audit.findings[0] if audit.findings else None
    if finding is not None:
        query = queries.raise_query(reviewer, audit.id, finding.id, "请说明该车续保时自主定价系数上调的依据。")
        queries.answer(ops, query.id, "该车上年度出险三次，核保依据附后。")
    return audit


def load_demo(trucks=2000, seed=2021):
    """Load the demo; yields lines to print. Does nothing but print the logins when already loaded."""
    from .auth.models import User
    from .auth.service import create_user
    from .catalogue.service import import_entries
    from .fleet.service import import_policy_export
    from .fleet.samples import to_csv

    if db.session.scalar(select(User).where(User.email == OPS_EMAIL)) is None:
        rng = random.Random(seed)
        create_user(OPS_EMAIL, "ops", DEMO_PASSWORD)
        create_user(REVIEWER_EMAIL, "reviewer", DEMO_PASSWORD)
        for email, company in CONTRACTORS:
            create_user(email, "contractor", DEMO_PASSWORD, company)
        import_entries(_catalogue_csv(), "demo-catalogue.csv")
        devices = _purchases(rng)
        rows = _fleet_rows(trucks, rng, dt.date.today())
        result = import_policy_export(to_csv(rows), "demo-policy-export.csv")
        orders, installed, online = _installs(rng, dt.date.today())
        statement = _sim_bill(rng, dt.date.today())
        tickets, marked, road_check = _maintenance(rng, utcnow())
        audit = _audit(dt.date.today())
        yield f"demo data loaded: {len(CATALOGUE)} catalogue entries, {devices} devices, {trucks} trucks, {len(rows)} policies"
        yield f"policy import: {result}"
        yield f"work orders: {orders} opened, {installed} closed with evidence, {online} seen online by the platform"
        yield (f"SIM statement {statement.carrier} {statement.period}: {statement.line_count} lines, billed "
               f"{statement.billed_total} CNY, expected {statement.expected_total} CNY ({statement.status})")
        yield f"maintenance: {tickets} reported faults worked by the contractors; SLA marks {marked}; road check {road_check}"
        yield (f"audit {audit.scope} v{audit.version}: {audit.status}, {audit.renewals_audited} renewals, "
               f"{audit.findings_count} findings, excess {audit.excess_total} CNY")
    else:
        from .fleet.models import Truck

        yield f"demo data already loaded ({db.session.scalar(select(func.count()).select_from(Truck))} trucks); nothing changed"
    yield f"logins (password {DEMO_PASSWORD!r}):"
    yield f"  ops        {OPS_EMAIL}"
    for email, company in CONTRACTORS:
        yield f"  contractor {email}  ({company})"
    yield f"  reviewer   {REVIEWER_EMAIL}"
