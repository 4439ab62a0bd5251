"""Acceptance 1: the ledger's totals are the sum of their sources, booked in the sources' own transactions.

A programme month by hand: five devices bought on two purchase-order lines, two of them installed by two
contractors, a China Mobile statement superseded by a corrected version, a China Unicom statement, and a ticket
with labour, parts and travel. Every total of the ledger and of the cost report is checked against the source
tables summed directly.
"""
import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from insurer_dms.auth.models import ContractorCompany
from insurer_dms.extensions import db
from insurer_dms.installs.models import WorkOrder
from insurer_dms.inventory.models import Device, PurchaseOrderLine
from insurer_dms.ledger import service as ledger
from insurer_dms.ledger.models import LedgerEntry
from insurer_dms.ledger.reports import cost_report
from insurer_dms.maintenance import service as maintenance
from insurer_dms.maintenance.models import TicketCost
from insurer_dms.sims import reconciliation
from insurer_dms.sims.models import Statement, StatementLine
from insurer_dms.types import utcnow
from tests import install_factories as inst
from tests import ledger_factories as lf
from tests import statement_factories as sf

D = Decimal
CN = ZoneInfo("Asia/Shanghai")


def total(*where):
    return db.session.scalar(select(ledger.fen_sum()).where(*where)) / D(100)


def by_category():
    rows = db.session.execute(select(LedgerEntry.category, ledger.fen_sum()).group_by(LedgerEntry.category)).all()
    return {c: D(fen) / 100 for c, fen in rows if fen}


# ---- the sources, summed straight from their own tables ------------------------------------------------


def purchases_source():
    return db.session.scalar(select(func.sum(PurchaseOrderLine.unit_price)).select_from(Device)
                             .join(PurchaseOrderLine, PurchaseOrderLine.id == Device.po_line_id))


def fees_source(default=D("300.00")):
    fees = db.session.execute(select(ContractorCompany.installation_fee).select_from(WorkOrder)
                              .join(ContractorCompany, ContractorCompany.id == WorkOrder.company_id)
                              .where(WorkOrder.device_id.is_not(None))).scalars().all()
    return sum((fee if fee is not None else default for fee in fees), D("0.00"))


def statements_source():
    """What the current (not superseded) statements billed: each line's plan fee plus overage fee."""
    return db.session.scalar(select(func.sum(StatementLine.plan_fee + StatementLine.overage_fee))
                             .join(Statement, Statement.id == StatementLine.statement_id)
                             .where(Statement.status != "superseded"))


def tickets_source():
    return db.session.scalar(select(func.sum(TicketCost.amount)))


@pytest.fixture
def programme(ctx):
    alpha = inst.company("Alpha Installations", fee="280.00")
    inst.company("Beta Installations")  # no fee of its own: the default 300.00
    devices = lf.bought([(3, "2200.00"), (2, "2350.00")], received_on=dt.date(2024, 5, 2))
    truck_a = inst.insured_truck(county="445102")
    truck_b = inst.insured_truck(county="445122")
    order_a = lf.installed(devices[3], truck_a, "Alpha Installations", iccid=inst.iccid(4101), msisdn=inst.msisdn(4101))
    order_b = lf.installed(devices[0], truck_b, "Beta Installations", iccid=inst.iccid(4102), msisdn=inst.msisdn(4102))
    plan = sf.plan(fee="30.00")
    for order in (order_a, order_b):
        order.sim.plan_id = plan.id
    db.session.commit()
    sim_a, sim_b = order_a.sim, order_b.sim

    v1 = sf.statement([sf.line(sim_a.iccid, "30.00", "5.00"), sf.line(sim_b.iccid, "30.00")], period="2024-06")
    reconciliation.reconcile(v1.id)
    before_v2 = utcnow()
    v2 = sf.statement([sf.line(sim_a.iccid, "30.00"), sf.line(sim_b.iccid, "30.00")], period="2024-06")
    reconciliation.reconcile(v2.id)
    unicom = sf.statement([sf.line(inst.iccid(77, prefix="898601"), "15.00")], carrier="china_unicom", period="2024-06")
    reconciliation.reconcile(unicom.id)

    ticket, _opened = maintenance.create_ticket(None, {"truck_id": truck_a.id, "category": "camera_fault",
                                                       "company_id": alpha.id, "description": "DSM camera dark"})
    db.session.commit()
    at = dt.datetime(2024, 7, 10, 15, 0, tzinfo=CN)
    maintenance.add_cost(ticket.id, "maintenance_labour", "150.00", "replace the camera cable", at=at)
    maintenance.add_cost(ticket.id, "parts", "80.50", "DSM camera cable", at=at)
    maintenance.add_cost(ticket.id, "travel", "40.00", "Raoping round trip", at=at)
    return {"trucks": (truck_a, truck_b), "alpha": alpha, "before_v2": before_v2, "ticket": ticket, "v1": v1}


def test_every_total_of_the_ledger_is_the_sum_of_its_sources(programme):
    assert purchases_source() == 3 * D("2200.00") + 2 * D("2350.00") == D("11300.00")
    assert fees_source() == D("280.00") + D("300.00")
    assert statements_source() == D("60.00") + D("15.00")  # v2 only; v1 was superseded
    assert tickets_source() == D("270.50")

    assert by_category() == {
        "device_purchase": purchases_source(), "installation_fee": fees_source(),
        "sim_plan_fee": statements_source(), "maintenance_labour": D("150.00"), "parts": D("80.50"), "travel": D("40.00"),
    }
    assert total() == purchases_source() + fees_source() + statements_source() + tickets_source() == D("12225.50")
    # the superseded version's entries are still there, cancelled by their reversals
    sim_overage = db.session.scalars(select(LedgerEntry).where(LedgerEntry.category == "sim_overage")).all()
    assert sorted(e.amount for e in sim_overage) == [D("-5.00"), D("5.00")]


def test_each_entry_is_booked_in_its_month_on_its_truck(programme):
    truck_a, truck_b = programme["trucks"]
    assert total(LedgerEntry.truck_id == truck_a.id) == D("2350.00") + D("280.00") + D("30.00") + D("270.50")
    assert total(LedgerEntry.truck_id == truck_b.id) == D("2200.00") + D("300.00") + D("30.00")
    # the three devices still in stock carry their purchase price on no truck; so does the SIM that is not ours
    assert total(LedgerEntry.truck_id.is_(None)) == 2 * D("2200.00") + D("2350.00") + D("15.00")
    assert {p: total(LedgerEntry.period == p) for p in ("2024-05", "2024-06", "2024-07")} == {
        "2024-05": D("11300.00") + D("580.00"), "2024-06": D("75.00"), "2024-07": D("270.50")}
    # an installed device's purchase moved onto its truck: its truck-less entry reversed, booked again, same month
    device_id = db.session.scalar(select(WorkOrder.device_id).where(WorkOrder.truck_id == truck_a.id))
    moved = db.session.scalars(select(LedgerEntry).where(LedgerEntry.category == "device_purchase",
                                                         LedgerEntry.device_id == device_id).order_by(LedgerEntry.id)).all()
    assert [(e.amount, e.truck_id, e.period, e.source_type) for e in moved] == [
        (D("2350.00"), None, "2024-05", "purchase_order_line"), (D("-2350.00"), None, "2024-05", "purchase_order_line"),
        (D("2350.00"), truck_a.id, "2024-05", "purchase_order_line")]
    assert moved[1].reverses_id == moved[0].id


def test_a_statement_lines_entries_are_found_by_their_source(programme, ops):
    """Statement lines' entries have no index of their own: they are found through their statement's month."""
    first_line = db.session.scalar(select(StatementLine.id).where(StatementLine.statement_id == programme["v1"].id)
                                   .order_by(StatementLine.row_no).limit(1))
    found = ledger.entries_for("statement_line", first_line)
    # v1's first line: plan fee and overage, both reversed when v2 superseded it
    assert sorted(e.amount for e in found) == [D("-30.00"), D("-5.00"), D("5.00"), D("30.00")]
    assert {e.period for e in found} == {"2024-06"}
    listed = ops.get(f"/api/ledger/entries?source_type=statement_line&source_id={first_line}").json
    assert sorted(D(i["amount"]) for i in listed["items"]) == [D("-30.00"), D("-5.00"), D("5.00"), D("30.00")]
    assert ledger.entries_for("statement_line", "not-a-line") == []
    for odd in ("x1", "²", "9" * 30):
        assert ops.get(f"/api/ledger/entries?source_type=statement_line&source_id={odd}").json["items"] == []


def test_the_cost_report_adds_up_to_the_sources(programme):
    truck_a, truck_b = programme["trucks"]
    report = cost_report("2024-01", "2024-12")
    assert report["total"] == D("12225.50")
    assert len(report["by_month"]) == 12
    assert {m["period"]: m["amount"] for m in report["by_month"] if m["amount"]} == {
        "2024-05": D("11880.00"), "2024-06": D("75.00"), "2024-07": D("270.50")}
    assert report["by_month"][4]["categories"]["device_purchase"] == D("11300.00")
    assert {r["county_code"]: r["amount"] for r in report["by_county"]} == {
        "445102": D("2930.50"), "445122": D("2530.00"), None: D("6765.00")}
    assert {r["category"]: r["amount"] for r in report["by_category"] if r["amount"]} == by_category()
    assert [(r["company"], r["amount"]) for r in report["by_contractor"]] == [
        ("Alpha Installations", D("550.50")), ("Beta Installations", D("300.00"))]
    assert [(r["carrier"], r["amount"]) for r in report["by_carrier"]] == [("china_mobile", D("60.00")), ("china_unicom", D("15.00"))]
    trucks = report["trucks"]
    assert (trucks["count"], trucks["total"]) == (2, D("5460.50"))
    assert trucks["cost_per_truck"] == D("2730.25")
    # installed 2024-05-20 10:30 in Chaozhou, to the end of 2024: 225 days 13.5 hours each, two trucks
    assert trucks["truck_years"] == (2 * (D(225) + D("13.5") / 24) / 365).quantize(D("0.01")) == D("1.24")
    assert trucks["cost_per_truck_year"] == (D("5460.50") / D("1.24")).quantize(D("0.01"))
    assert [(t["plate"], t["total"]) for t in report["top_trucks"]] == [(truck_a.plate, D("2930.50")), (truck_b.plate, D("2530.00"))]
    assert [(r["category"], r["amount"]) for r in report["top_trucks"][0]["reasons"]] == [
        ("device_purchase", D("2350.00")), ("installation_fee", D("280.00")), ("maintenance_labour", D("150.00")),
        ("parts", D("80.50")), ("travel", D("40.00")), ("sim_plan_fee", D("30.00"))]


def test_a_county_report_keeps_only_its_trucks(programme):
    report = cost_report("2024-01", "2024-12", county="445122")
    assert report["total"] == D("2530.00")
    assert [r["county_code"] for r in report["by_county"]] == ["445122"]
    assert [(r["company"], r["amount"]) for r in report["by_contractor"]] == [("Beta Installations", D("300.00"))]
    assert report["trucks"]["truck_years"] == D("0.62")


def test_the_report_as_it_was_before_the_corrected_statement(programme):
    before = cost_report("2024-06", "2024-06", as_of=programme["before_v2"])
    assert before["total"] == D("65.00")  # v1: 30.00 + 5.00 and 30.00; no Unicom statement yet
    assert [(r["carrier"], r["amount"]) for r in before["by_carrier"]] == [("china_mobile", D("65.00"))]
    assert cost_report("2024-06", "2024-06")["total"] == D("75.00")


def test_a_receipt_books_each_device_at_its_line_price_and_a_refused_one_books_nothing(ctx):
    from insurer_dms.errors import DomainError
    from insurer_dms.inventory import service as inventory
    from tests.factories import device_item, make_po, receipt_csv

    po = make_po([inst.catalogue_entry()], quantity=3, number="PO-REC-1", unit_price=D("2350.00"))
    line = po.lines[0]
    inventory.receive_devices(po, line.id, [device_item(n) for n in (1, 2)], received_on=dt.date(2024, 6, 3))
    entries = ledger.entries_for("purchase_order_line", line.id)
    assert [(e.category, e.amount, e.period, e.truck_id) for e in entries] == [("device_purchase", D("2350.00"), "2024-06", None)] * 2
    assert {e.device_id for e in entries} == set(db.session.scalars(select(Device.id)))
    with pytest.raises(DomainError):  # two more would exceed the line's quantity: nothing stored, nothing booked
        inventory.receive_devices(po, line.id, [device_item(n) for n in (3, 4)])
    db.session.rollback()
    assert len(ledger.entries_for("purchase_order_line", line.id)) == 2
    inventory.receive_from_file(po, receipt_csv([[1, "SN000005", "T0000005", ""]]), "receipt.csv", received_on=dt.date(2024, 7, 1))
    assert [e.period for e in ledger.entries_for("purchase_order_line", line.id)] == ["2024-06", "2024-06", "2024-07"]
