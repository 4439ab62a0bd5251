"""The cost report over the API and its pages: JSON, CSV and XLSX exports (Chinese headings for zh_CN users),
and operations staff only."""
import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from insurer_dms.auth.models import User
from insurer_dms.extensions import db
from insurer_dms.ledger import service as ledger
from tests import install_factories as inst

D = Decimal
REPORT = "/api/reports/costs?from=2026-08&to=2026-09"


@pytest.fixture
def booked(app):
    """Two trucks in two counties, two contractors; September and August entries (one corrected)."""
    with app.app_context():
        alpha, beta = inst.company("Alpha Installations"), inst.company("Beta Installations")
        a, b = inst.insured_truck(county="445102"), inst.insured_truck(county="445103")
        ledger.post("installation_fee", "280.00", "2026-09", "work_order", 1, truck_id=a.id, company_id=alpha.id)
        ledger.post("installation_fee", "300.00", "2026-09", "work_order", 2, truck_id=b.id, company_id=beta.id)
        ledger.post("maintenance_labour", "150.00", "2026-08", "ticket", 7, truck_id=a.id, company_id=alpha.id)
        wrong = ledger.post("parts", "99.00", "2026-08", "ticket", 7, truck_id=a.id, company_id=alpha.id)
        ledger.post("device_purchase", "2200.00", "2026-08", "purchase_order_line", 1)
        db.session.commit()
        ledger.correct_entry(wrong.id, "80.50", "the invoice says 80.50")
        return {"a": a.plate, "b": b.plate}


def set_locale(app, client, locale):
    with app.app_context():
        db.session.get(User, client.user).locale = locale
        db.session.commit()


def test_ops_get_the_report_as_json(ops, booked):
    body = ops.get(REPORT).json
    assert (body["from"], body["to"], body["total"]) == ("2026-08", "2026-09", "3010.50")
    assert [(m["period"], m["amount"]) for m in body["by_month"]] == [("2026-08", "2430.50"), ("2026-09", "580.00")]
    assert {r["county_code"]: r["amount"] for r in body["by_county"]} == {"445102": "510.50", "445103": "300.00", None: "2200.00"}
    assert [(r["company"], r["amount"]) for r in body["by_contractor"]] == [
        ("Alpha Installations", "510.50"), ("Beta Installations", "300.00")]
    assert body["trucks"]["count"] == 2 and body["trucks"]["cost_per_truck"] == "405.25"
    assert [t["plate"] for t in body["top_trucks"]] == [booked["a"], booked["b"]]
    assert ops.get(REPORT + "&county=445103").json["total"] == "300.00"


def test_bad_months_and_counties_are_refused_with_their_field(ops, booked):
    assert ops.get("/api/reports/costs?from=2026-13&to=2026-09").json["errors"] == {"from": ["A month is YYYY-MM."]}
    resp = ops.get("/api/reports/costs?from=2026-09&to=2026-08")
    assert resp.status_code == 422 and "to" in resp.json["errors"]
    assert ops.get("/api/reports/costs?county=12").status_code == 422
    assert ops.get("/api/reports/costs?format=pdf").status_code == 422
    assert ops.get("/api/reports/costs?from=2010-01&to=2026-09").status_code == 422  # more than ten years


def test_the_csv_export_carries_every_table_with_english_headings(ops, booked):
    resp = ops.get(REPORT + "&format=csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert 'filename="costs-2026-08-2026-09.csv"' in resp.headers["Content-Disposition"]
    text = resp.get_data().decode("utf-8-sig")
    tables = [block.splitlines() for block in text.replace("\r\n", "\n").strip().split("\n\n")]
    titles = [rows[0] for rows in tables]
    assert titles == ["Summary", "By month", "By county", "By category", "By contractor", "By carrier", "Top trucks"]
    by_category = list(csv.reader(tables[3][1:]))
    assert by_category[0] == ["Category", "Amount (CNY)"]
    assert sum(D(amount) for _name, amount in by_category[1:]) == D("3010.50")
    summary = dict(csv.reader(tables[0][2:]))
    assert summary["Total (CNY)"] == "3010.50" and summary["Trucks with costs"] == "2"


def test_the_xlsx_export_opens_in_openpyxl_with_the_right_totals(ops, booked):
    resp = ops.get(REPORT + "&format=xlsx")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(resp.get_data()))
    assert book.sheetnames == ["Summary", "By month", "By county", "By category", "By contractor", "By carrier", "Top trucks"]
    months = list(book["By month"].values)
    assert months[0][0] == "Month" and months[0][-1] == "Total (CNY)"
    assert [(row[0], row[-1]) for row in months[1:]] == [("2026-08", 2430.5), ("2026-09", 580)]
    assert sum(row[-1] for row in months[1:]) == 3010.5
    categories = list(book["By category"].values)
    assert sum(row[1] for row in categories[1:]) == 3010.5
    assert book["By category"]["B2"].number_format == "#,##0.00"
    summary = {row[0]: row[1] for row in book["Summary"].values}
    assert summary["Total (CNY)"] == 3010.5 and summary["Cost per truck (CNY)"] == 405.25
    top = list(book["Top trucks"].values)
    assert top[1][:4] == (1, booked["a"], "Xiangqiao (incl. Fengxi)", 510.5)


def test_a_zh_cn_user_gets_chinese_headings(app, ops, booked):
    set_locale(app, ops, "zh_CN")
    book = load_workbook(io.BytesIO(ops.get(REPORT + "&format=xlsx").get_data()))
    assert book.sheetnames == ["汇总", "按月", "按区县", "按类别", "按承包商", "按运营商", "费用最高车辆"]
    assert list(book["按类别"].values)[0] == ("类别", "金额(元)")
    assert list(book["按月"].values)[0][0] == "月份" and list(book["按月"].values)[0][-1] == "合计(元)"
    assert {row[0]: row[1] for row in book["汇总"].values}["总费用(元)"] == 3010.5
    text = ops.get(REPORT + "&format=csv").get_data().decode("utf-8-sig")
    assert text.startswith("汇总\r\n项目,数值\r\n") and "\r\n按类别\r\n类别,金额(元)\r\n" in text


def test_the_report_reproduces_what_it_said_before_a_correction(app, ops, booked):
    before = dt.datetime.now(dt.timezone.utc)
    with app.app_context():
        entry = db.session.scalar(db.select(ledger.LedgerEntry).where(ledger.LedgerEntry.amount == D("2200.00")))
        ledger.correct_entry(entry.id, "2100.00", "supplier discount")
    assert ops.get(REPORT).json["total"] == "2910.50"
    as_of = before.isoformat().replace("+00:00", "Z")
    assert ops.get(REPORT + f"&as_of={as_of}").json["total"] == "3010.50"


def test_contractors_and_reviewers_are_refused_the_ledger(app, ops, contractor, reviewer, anon, booked):
    with app.app_context():
        truck_id = db.session.scalar(db.select(ledger.LedgerEntry.truck_id).where(ledger.LedgerEntry.truck_id.is_not(None)))
    urls = [REPORT, REPORT + "&format=csv", REPORT + "&format=xlsx", "/api/ledger/entries", "/costs",
            f"/trucks/{truck_id}/costs"]
    for client in (contractor, reviewer):
        for url in urls:
            assert client.get(url).status_code == 403, url
    assert anon.get(REPORT).status_code == 401
    assert anon.get("/costs").status_code in (302, 401)


def test_the_costs_page_shows_the_report_with_its_export_buttons(ops, booked):
    html = ops.get("/costs?from=2026-08&to=2026-09").get_data(as_text=True)
    assert 'id="tile-total"><span class="num">3,010.50</span>' in html
    assert 'href="/api/reports/costs?format=xlsx&amp;from=2026-08&amp;to=2026-09"' in html
    assert 'href="/api/reports/costs?format=csv&amp;from=2026-08&amp;to=2026-09"' in html
    assert html.count("<rect class=\"bar\"") == 2 + 4  # two months; the four categories with costs


def test_a_bad_filter_on_the_page_is_reported_not_a_500(ops, booked):
    resp = ops.get("/costs?from=2026-09&to=2026-01")
    assert resp.status_code == 200
    assert "is before" in resp.get_data(as_text=True)


def test_the_truck_ledger_page_lists_its_entries_and_total(app, ops, booked):
    with app.app_context():
        truck_id = db.session.scalar(db.select(ledger.LedgerEntry.truck_id).where(ledger.LedgerEntry.amount == D("280.00")))
    html = ops.get(f"/trucks/{truck_id}/costs").get_data(as_text=True)
    assert "510.50" in html  # 280.00 + 150.00 + 99.00 - 99.00 + 80.50
    assert html.count("data-entry=") == 5
    assert ops.get(f"/trucks/{truck_id}/costs?category=parts").get_data(as_text=True).count("data-entry=") == 3
