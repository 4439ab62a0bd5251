"""Install due dates: the rule (installs/due.py), due and overdue counts by county and by installation contractor,
the home's overdue tiles, the truck page, the progress export in Chinese, the favicon; in Chromium, KPI numbers
inside their cards and no empty chart rows."""
import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from insurer_dms.extensions import db
from insurer_dms.installs import due, progress
from insurer_dms.installs.models import WorkOrder
from tests import install_factories as inst

DEADLINE = dt.date(2021, 6, 30)
START = dt.date(2026, 3, 2)  # a policy starting long after the programme deadline
D = dt.timedelta


def test_the_rule_due_on_the_deadline_or_30_days_after_the_first_start_and_its_sql_bound_agrees():
    rule = due.DueRule(DEADLINE, 30)
    assert rule.due_date(dt.date(2019, 5, 1)) == DEADLINE
    assert rule.due_date(DEADLINE) == DEADLINE  # insured on the deadline day itself: due on it
    assert rule.due_date(DEADLINE + D(1)) == DEADLINE + D(31)
    assert rule.due_date(START) == START + D(30) and rule.due_date(None) is None
    assert rule.overdue_days(START, START + D(31)) == 1 and rule.overdue_days(START, START + D(30)) == 0
    # the bound SQL compares first starts with says the same as the due date, on every day around the deadline
    starts = [DEADLINE + D(n) for n in range(-40, 80, 3)]
    for day in (DEADLINE + D(n) for n in range(-5, 120)):
        for first in starts:
            assert rule.due_by(first, day) == (rule.due_date(first) <= day), (first, day)
            assert rule.past_due(first, day) == (rule.due_date(first) < day), (first, day)


def test_a_truck_insured_in_2026_is_overdue_30_days_after_its_policy_start_not_1987(app, ctx):
    assert app.config["INSTALL_DUE_DAYS"] == 30
    truck = inst.insured_truck(county="445103", policy_start=START)
    before = progress.progress(START + D(29))
    assert (before["total"]["due"], before["total"]["overdue"]) == (0, 0)
    assert before["next_due"] == [{"due_on": START + D(30), "trucks": 1}]
    on_due = progress.progress(START + D(30))
    assert (on_due["total"]["due"], on_due["total"]["overdue"]) == (1, 0)
    after = progress.progress(START + D(31))
    row = next(r for r in after["counties"] if r["county_code"] == "445103")
    assert (row["due"], row["overdue"], row["oldest_overdue_days"]) == (1, 1, 1)
    assert after["total"]["oldest_overdue_days"] == 1 and after["next_due"] == []
    assert due.truck_due(truck, installed=False, day=START + D(31)) == {
        "first_start": START, "due_on": START + D(30), "overdue_days": 1}
    inst.installed_directly(truck)  # a device on it: no longer overdue
    assert progress.progress(START + D(31))["total"]["overdue"] == 0


def test_a_truck_insured_before_the_deadline_is_due_on_it(ctx):
    truck = inst.insured_truck(county="445102", policy_start=dt.date(2021, 1, 1))
    assert due.truck_due(truck, installed=False, day=DEADLINE)["due_on"] == DEADLINE
    on = progress.progress(DEADLINE)
    assert (on["total"]["due"], on["total"]["overdue"]) == (1, 0) and on["next_due"] == [{"due_on": DEADLINE, "trucks": 1}]
    later = progress.progress(dt.date(2026, 4, 15))
    assert later["total"]["overdue"] == 1 and later["total"]["oldest_overdue_days"] == (dt.date(2026, 4, 15) - DEADLINE).days


def test_a_light_truck_or_one_without_our_policy_has_no_due_date(ctx):
    assert due.truck_due(inst.insured_truck(heavy=False), installed=False, day=START) is None
    assert due.truck_due(inst.insured_truck(policy=False), installed=False, day=START) is None


DAY = dt.date(2026, 4, 15)


def contractor_scene():
    """Seven insured heavy trucks in two counties, their contractors from their active or latest order."""
    alpha, beta = inst.company("Alpha Installations"), inst.company("Beta Installations")
    t = {}
    t["t1"] = inst.insured_truck(county="445102", policy_start=START)  # no order: not assigned, overdue 14 d
    t["t2"] = inst.insured_truck(county="445102", policy_start=START)
    inst.assigned_order("Alpha Installations", truck=t["t2"])  # Alpha, overdue 14 d
    t["t3"] = inst.insured_truck(county="445122", policy_start=dt.date(2021, 1, 1))
    inst.open_order(t["t3"])  # an open order without a company: not assigned; due on the deadline
    t["t4"] = inst.insured_truck(county="445122", policy_start=dt.date(2021, 1, 1))
    inst.installed_directly(t["t4"], company_name="Beta Installations")  # Beta, installed: not overdue
    t["t5"] = inst.insured_truck(county="445102", policy_start=dt.date(2026, 4, 1))
    inst.assigned_order("Alpha Installations", truck=t["t5"])  # Alpha, due 2026-05-01: not yet due
    t["t6"] = inst.insured_truck(county="445122", policy_start=START)
    db.session.add(WorkOrder(number="WO-DUE-CANCELLED-6", state="cancelled", truck_id=t["t6"].id, company_id=beta.id))
    db.session.commit()
    inst.assigned_order("Alpha Installations", truck=t["t6"])  # the active order wins over the older cancelled one
    t["t7"] = inst.insured_truck(county="445122", policy_start=START)
    db.session.add(WorkOrder(number="WO-DUE-CANCELLED-7", state="cancelled", truck_id=t["t7"].id, company_id=beta.id))
    db.session.commit()  # only a cancelled order of Beta: its latest, so Beta's
    assert alpha.id != beta.id
    return t


def figures(row):
    return {k: row[k] for k in ("insured", "installed", "orders_open", "due", "overdue", "oldest_overdue_days")}


def test_overdue_by_county_and_by_contractor(ctx):
    contractor_scene()
    report = progress.progress(DAY)
    long_ago = (DAY - DEADLINE).days
    by_county = {r["county_code"]: figures(r) for r in report["counties"]}
    assert by_county["445102"] == {"insured": 3, "installed": 0, "orders_open": 2, "due": 2, "overdue": 2, "oldest_overdue_days": 14}
    assert by_county["445122"] == {"insured": 4, "installed": 1, "orders_open": 2, "due": 4, "overdue": 3, "oldest_overdue_days": long_ago}
    assert by_county["445100"]["insured"] == by_county["445100"]["overdue"] == 0
    assert [r["company"] for r in report["contractors"]] == ["Alpha Installations", "Beta Installations", "Not assigned"]
    alpha, beta, none = (figures(r) for r in report["contractors"])
    assert alpha == {"insured": 3, "installed": 0, "orders_open": 3, "due": 2, "overdue": 2, "oldest_overdue_days": 14}
    assert beta == {"insured": 2, "installed": 1, "orders_open": 0, "due": 2, "overdue": 1, "oldest_overdue_days": 14}
    assert none == {"insured": 2, "installed": 0, "orders_open": 1, "due": 2, "overdue": 2, "oldest_overdue_days": long_ago}
    assert report["contractors"][-1]["company_id"] is None
    assert figures(report["total"]) == {"insured": 7, "installed": 1, "orders_open": 4, "due": 6, "overdue": 5,
                                        "oldest_overdue_days": long_ago}
    assert report["next_due"] == [{"due_on": dt.date(2026, 5, 1), "trucks": 1}]


def test_the_progress_page_shows_overdue_trucks_instead_of_a_countdown(ops, ctx):
    contractor_scene()
    html = ops.get("/progress").get_data(as_text=True)
    assert 'id="days-left"' not in html and "Days past the deadline" not in html
    today = inst.local_today()
    assert re.search(r'id="total-overdue">6<', html)  # today every truck but t4 (installed) is past its due date
    assert re.search(rf'id="total-oldest-overdue">{(today - DEADLINE).days}<', html)
    table = html[html.index('id="contractor-table"'):]
    assert re.search(r'<td>Not assigned</td><td class="insured">2</td>', table)
    assert re.search(r'data-company="\d+"><td>Beta Installations</td>.*?<td class="overdue">1</td>', table, re.S)
    assert 'id="progress-445122"' in html and re.search(
        r'id="progress-445122">.*?<td class="due">4</td><td class="overdue">3</td>', html, re.S)
    assert 'id="next-due-none"' in html  # every truck without a device is past its due date today


def test_the_api_reports_due_dates_by_contractor(ops, ctx):
    contractor_scene()
    body = ops.get(f"/api/reports/progress?on={DAY.isoformat()}").json
    assert body["install_due_days"] == 30 and body["next_due"] == [{"due_on": "2026-05-01", "trucks": 1}]
    assert [(r["company"], r["overdue"]) for r in body["contractors"]] == [
        ("Alpha Installations", 2), ("Beta Installations", 1), ("Not assigned", 2)]
    assert body["total"]["overdue"] == 5


def test_the_progress_export_is_headed_in_chinese_and_in_english_on_request(ops, ctx):
    contractor_scene()
    resp = ops.get("/progress.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    counties, contractors = resp.data.decode("utf-8-sig").split("\r\n\r\n")
    rows = list(csv.reader(io.StringIO(counties)))
    assert rows[0] == ["区县代码", "区县", "在保重型货车", "未完成的安装工单", "已安装", "已接入", "已安装 %", "已接入 %",
                       "已到期", "逾期", "最久逾期（天）"]
    assert rows[-1][1] == "合计" and rows[-1][9] == "6"  # today: every truck but t4 is overdue
    assert next(r for r in rows if r[0] == "445122")[1] != "Raoping"  # the county's Chinese name
    rows = list(csv.reader(io.StringIO(contractors)))
    assert rows[0][0] == "安装单位" and [r[0] for r in rows[1:]] == ["Alpha Installations", "Beta Installations", "未分配"]

    english = ops.get("/progress.csv?lang=en").data.decode("utf-8-sig")
    assert english.startswith("County code,County,Insured heavy trucks,Orders open,Installed,Connected,Installed %,"
                              "Connected %,Due,Overdue,Oldest overdue (days)")
    assert "Not assigned," in english

    for url, overdue in (("/progress.xlsx", 6), (f"/api/reports/progress?format=xlsx&on={DAY.isoformat()}", 5)):
        resp = ops.get(url)
        assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet"), url
        book = load_workbook(io.BytesIO(resp.data), read_only=True)
        assert book.sheetnames == ["按区县统计", "按安装单位统计"]
        header, *lines = list(book["按区县统计"].values)
        assert header[:3] == ("区县代码", "区县", "在保重型货车") and header[-2:] == ("逾期", "最久逾期（天）")
        assert lines[-1][1] == "合计" and lines[-1][9] == overdue and lines[-1][2] == 7
        assert [r[0] for r in list(book["按安装单位统计"].values)[1:]][-1] == "未分配"
    book = load_workbook(io.BytesIO(ops.get("/api/reports/progress?format=xlsx&lang=en").data), read_only=True)
    assert book.sheetnames == ["By county", "By installation contractor"]
    assert ops.get("/api/reports/progress?format=xlsx&lang=fr").status_code == 422


@pytest.mark.parametrize("role,status", [("contractor", 403), ("reviewer", 403)])
def test_progress_files_are_for_operations_staff(request, role, status):
    client = request.getfixturevalue(role)
    assert client.get("/progress.xlsx").status_code == status
    assert client.get("/api/reports/progress?format=xlsx").status_code == status
    resp = request.getfixturevalue("anon").get("/progress.csv")
    assert resp.status_code in (302, 401) and b"County" not in resp.data


def test_the_home_shows_overdue_counts(ops, ctx):
    today = inst.local_today()
    inst.insured_truck(county="445103", policy_start=today - D(31))  # due yesterday, no device: overdue by 1 day
    inst.insured_truck(county="445103", policy_start=today - D(29))  # due tomorrow
    html = ops.get("/home").get_data(as_text=True)
    assert re.search(r'id="tile-overdue"[^>]*>\s*<span class="num">1</span>', html)
    assert "Overdue trucks (oldest 1 days)" in html and "1987" not in html
    assert re.search(r'class="overdue-county" data-county="445103">[^<]*<b>1</b>', html)
    assert re.search(r'id="tile-next-due"[^>]*>\s*<span class="num">1</span><span class="lbl">Due next, on '
                     + (today + D(1)).isoformat(), html)


def test_the_truck_page_shows_its_due_date_and_days_overdue(ops, ctx):
    today = inst.local_today()
    truck = inst.insured_truck(policy_start=today - D(40))
    html = ops.get(f"/trucks/{truck.id}").get_data(as_text=True)
    assert f'data-due="{(today - D(10)).isoformat()}" data-overdue-days="10"' in html
    assert "Overdue by 10 days." in html
    fresh = inst.insured_truck(policy_start=today - D(3))
    html = ops.get(f"/trucks/{fresh.id}").get_data(as_text=True)
    assert f'data-due="{(today + D(27)).isoformat()}" data-overdue-days="0"' in html and 'id="overdue-days"' not in html


def test_the_favicon_is_served_from_the_static_files(anon, ops):
    resp = anon.get("/favicon.ico")
    assert resp.status_code == 200 and resp.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    assert resp.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    svg = anon.get("/static/favicon.svg")
    assert svg.status_code == 200 and b"<svg" in svg.data
    html = ops.get("/home").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg"' in html and 'href="/favicon.ico"' in html


# ---- in Chromium: the KPI numbers fit their cards; empty months and categories are not drawn -----------------

BIG = Decimal("12345678.90")


def months_back(day, n):
    month = day.year * 12 + day.month - 1 - n
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


@pytest.fixture
def big_ledger(app):
    """Large amounts in three of the last twelve months (this month, last month, five months ago), on one truck."""
    from insurer_dms.ledger import service

    with app.app_context():
        truck = inst.insured_truck(county="445102")
        today = inst.local_today()
        service.post("device_purchase", BIG, months_back(today, 0), "purchase_order_line", "big-1", truck_id=truck.id)
        service.post("installation_fee", Decimal("9876543.21"), months_back(today, 1), "work_order", "big-2", truck_id=truck.id)
        service.post("travel", Decimal("23456789.01"), months_back(today, 5), "ticket", "big-3")
        db.session.commit()
        return {"months": {months_back(today, n) for n in (0, 1, 5)}, "today": today}


def numbers_inside_their_cards(page, tiles):
    """Every ``.tile .num`` of ``tiles`` whose box is not inside its card: [(id, text, number box, card box)]."""
    outside = []
    for tile in page.locator(f"{tiles} .tile").all():
        card, num = tile.bounding_box(), tile.locator(".num").bounding_box()
        inner = num["x"] >= card["x"] - 0.5 and num["y"] >= card["y"] - 0.5 and \
            num["x"] + num["width"] <= card["x"] + card["width"] + 0.5 and \
            num["y"] + num["height"] <= card["y"] + card["height"] + 0.5
        # the text itself, not only its box: a nowrap figure can overflow a box that keeps the card's width
        scroll = tile.locator(".num").evaluate("e => e.scrollWidth <= e.clientWidth + 1")
        if not (inner and scroll):
            outside.append((tile.get_attribute("id"), tile.locator(".num").inner_text(), num, card))
    return outside


@pytest.mark.parametrize("width,height", [(1366, 900), (390, 844)])
def test_kpi_numbers_fit_their_cards_and_no_empty_chart_rows(login_as, live_server, big_ledger, width, height):
    page = login_as("ops")
    page.set_viewport_size({"width": width, "height": height})
    page.goto(live_server.url("/costs"))
    assert page.locator("#tile-total .num").inner_text() == "45,679,011.12"
    assert numbers_inside_their_cards(page, "#cost-tiles") == []
    months = page.locator("#month-chart g.chart-row")
    assert sorted(m.get_attribute("data-label") for m in months.all()) == sorted(big_ledger["months"])
    assert page.locator("#by-month tbody tr").count() == 12  # the table keeps every month; the chart draws 3
    categories = page.locator("#category-chart g.chart-row").all()
    assert [c.get_attribute("data-label") for c in categories] == ["Device purchase", "Installation fee", "Travel"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    page.goto(live_server.url("/home"))
    assert page.locator("#tile-costs-this .num").inner_text() == "12,345,678.90"
    for section in ("#home-progress", "#home-costs", "#home-fleet", "#home-tickets"):
        assert numbers_inside_their_cards(page, section) == [], section
    rows = page.locator("#costs-chart g.chart-row").all()
    assert [r.get_attribute("data-label") for r in rows] == ["Device purchase", "Installation fee"]  # this and last month
    assert page.locator("#progress-chart g.chart-row").count() == 1  # the one county with a truck
    assert page.evaluate("document.documentElement.scrollWidth") <= width
