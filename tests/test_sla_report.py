"""The SLA report: open tickets by age, SLA marks and MTTR per contractor and category, maintenance cost per month.

One hand-computed story. Now is 2 April 2024, 12:00 in Chaozhou; the period is March 2024 (local days).
"""
import csv
import datetime as dt
import io
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest
from sqlalchemy import event

from insurer_dms.extensions import db
from insurer_dms.ledger import service as ledger
from insurer_dms.maintenance import reports, sla
from tests import install_factories as f
from tests import sla_factories as sf

UTC = dt.timezone.utc
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)
NOW = dt.datetime(2024, 4, 2, 4, 0, tzinfo=UTC)
MARCH = (dt.date(2024, 3, 1), dt.date(2024, 3, 31))
ALPHA, BETA, GAMMA = "Alpha Installations", "Beta Installations", "Gamma Maintenance"


def utc(day, hour, minute=0):
    return dt.datetime(2024, *day, hour, minute, tzinfo=UTC)


def story():
    """Open tickets of every age and mark, tickets resolved in and around March, and maintenance costs."""
    companies = {name: f.company(name).id for name in (ALPHA, BETA, GAMMA)}
    # Open now (ages from NOW), marked by the SLA job at NOW:
    sf.ticket(NOW - 2 * H)                                                  # unassigned, under 1 day, on track
    sf.ticket(NOW - 30 * H, company=ALPHA)                                  # 1-3 days, assigned, on track
    sf.move(sf.ticket(NOW - 80 * H, company=ALPHA), "in_progress", at=NOW - 70 * H)  # 3-7 days, breached (> 72 h)
    sf.ticket(NOW - 10 * D, company=BETA, category="camera_fault")          # 7 days and more, breached
    sf.ticket(NOW - 60 * H, company=BETA)                                   # 1-3 days, at risk (>= 57.6 h)
    sf.ticket(NOW - 24 * H, priority="urgent")                              # exactly 1 day: 1-3 days; at due: at risk
    sf.ticket(NOW - 7 * D, priority="low")                                  # exactly 7 days: 7 and more; at risk
    reopened = sf.resolved(NOW - 5 * D, NOW - 4 * D, company=ALPHA)         # resolved in March, then reopened:
    sf.move(reopened, "assigned", at=NOW - 3 * D)                           # 3-7 days, assigned, breached
    # Resolved (hours from opening to resolution):
    sf.resolved(utc((3, 2), 2), utc((3, 2), 2) + 30 * H, company=ALPHA)     # 30 h, on time
    sf.resolved(utc((3, 5), 2), utc((3, 5), 2) + 90 * H, company=ALPHA)     # 90 h, late (due after 72 h)
    sf.resolved(utc((3, 6), 2), utc((3, 6), 2) + 12.5 * H, company=BETA, category="camera_fault", priority="urgent")
    sf.resolved(utc((3, 7), 2), utc((3, 7), 2) + 3 * H)                     # 3 h, unassigned ("back online")
    closed = sf.resolved(utc((3, 8), 2), utc((3, 8), 2) + 40 * H, company=ALPHA, category="camera_fault")
    sf.move(closed, "closed", at=utc((3, 10), 2))                           # 40 h, closed: still resolved in March
    sf.resolved(utc((3, 30), 15, 30), utc((3, 31), 15, 30), company=BETA, category="camera_fault")  # 23:30 on 31 March
    sf.resolved(utc((3, 30), 16, 10), utc((3, 31), 16, 10), company=BETA)  # 00:10 on 1 April local: not in March
    sf.resolved(utc((2, 20), 2), utc((2, 21), 2), company=ALPHA)            # February: not in March
    sf.move(sf.ticket(utc((3, 12), 2), company=BETA), "cancelled", at=utc((3, 12), 5))  # cancelled: in nothing
    sla.mark_sla(NOW)
    # Maintenance costs in the ledger (by ledger month), a correction, and a cost of another kind.
    sf.cost("maintenance_labour", "100.00", "2024-02")
    sf.cost("maintenance_labour", "300.00", "2024-03")
    sf.cost("maintenance_labour", "150.50", "2024-03")
    wrong = sf.cost("parts", "1200.00", "2024-03")
    ledger.reverse(wrong)
    sf.cost("parts", "1100.00", "2024-03")
    sf.cost("travel", "80.00", "2024-03")
    sf.cost("travel", "45.00", "2024-04")
    ledger.post("installation_fee", "300.00", "2024-03", "work_order", 1)
    db.session.commit()
    return companies


def group(open_=0, at_risk=0, breached=0, resolved=0, resolved_late=0, mttr=None):
    return {"open": open_, "at_risk": at_risk, "breached": breached, "resolved": resolved, "resolved_late": resolved_late,
            "mttr_hours": None if mttr is None else Decimal(mttr)}


def expected_contractors(companies):
    return [
        {"company_id": companies[ALPHA], "company": ALPHA,
         **group(3, 0, 2, resolved=3, resolved_late=1, mttr="53.3")},  # (30 + 90 + 40) / 3 = 53.33
        {"company_id": companies[BETA], "company": BETA,
         **group(2, 1, 1, resolved=2, resolved_late=0, mttr="18.3")},  # (12.5 + 24) / 2 = 18.25, half up
        {"company_id": companies[GAMMA], "company": GAMMA, **group()},
        {"company_id": None, "company": "unassigned", **group(3, 2, 0, resolved=1, mttr="3.0")},
    ]


def test_open_tickets_by_age_count_each_bucket_from_its_lower_bound(ctx):
    story()
    report = reports.sla_report(*MARCH, now=NOW)
    ages = {r["bucket"]: (r["open"], r["assigned"], r["in_progress"], r["total"]) for r in report["open_by_age"]}
    assert ages == {
        "under_1_day": (1, 0, 0, 1),
        "1_to_3_days": (1, 2, 0, 3),      # 30 h, 60 h, and exactly 24 h
        "3_to_7_days": (0, 1, 1, 2),      # 80 h in progress, the reopened one (5 days)
        "7_days_and_more": (1, 1, 0, 2),  # exactly 7 days, 10 days
    }
    assert report["open_total"] == {"bucket": "total", "min_days": None, "max_days": None,
                                    "open": 3, "assigned": 4, "in_progress": 1, "total": 8}


def test_marks_resolutions_and_mttr_per_contractor_with_the_unassigned_last(ctx):
    companies = story()
    report = reports.sla_report(*MARCH, now=NOW)
    assert report["by_contractor"] == expected_contractors(companies)


def test_marks_resolutions_and_mttr_per_category(ctx):
    story()
    rows = {r["category"]: {k: v for k, v in r.items() if k != "category"} for r in reports.sla_report(*MARCH, now=NOW)["by_category"]}
    assert list(rows) == ["camera_fault", "device_offline", "sim_fault", "power_wiring", "physical_damage",
                          "camera_covered", "removal_request", "other"]
    assert rows["device_offline"] == group(7, 3, 2, resolved=3, resolved_late=1, mttr="41.0")  # (30 + 90 + 3) / 3
    assert rows["camera_fault"] == group(1, 0, 1, resolved=3, mttr="25.5")  # (12.5 + 40 + 24) / 3
    assert rows["sim_fault"] == group()


def test_maintenance_cost_per_month_and_category_from_the_ledger(ctx):
    story()
    march = reports.sla_report(*MARCH, now=NOW)
    assert march["costs_by_month"] == [{"period": "2024-03", "maintenance_labour": Decimal("450.50"),
                                        "parts": Decimal("1100.00"), "travel": Decimal("80.00"), "total": Decimal("1630.50")}]
    spring = reports.sla_report(dt.date(2024, 2, 10), dt.date(2024, 4, 5), now=NOW)
    assert [(r["period"], r["maintenance_labour"], r["parts"], r["travel"], r["total"]) for r in spring["costs_by_month"]] == [
        ("2024-02", Decimal("100.00"), Decimal("0.00"), Decimal("0.00"), Decimal("100.00")),
        ("2024-03", Decimal("450.50"), Decimal("1100.00"), Decimal("80.00"), Decimal("1630.50")),
        ("2024-04", Decimal("0.00"), Decimal("0.00"), Decimal("45.00"), Decimal("45.00")),
    ]
    assert spring["costs_total"] == {"period": "total", "maintenance_labour": Decimal("550.50"), "parts": Decimal("1100.00"),
                                     "travel": Decimal("125.00"), "total": Decimal("1775.50")}


def test_the_default_period_is_three_calendar_months_and_a_bad_one_is_refused(ctx):
    assert reports.period(end=dt.date(2024, 2, 10)) == (dt.date(2023, 12, 1), dt.date(2024, 2, 10))
    assert reports.period(end=dt.date(2024, 3, 31)) == (dt.date(2024, 1, 1), dt.date(2024, 3, 31))
    from insurer_dms.errors import Invalid

    with pytest.raises(Invalid) as err:
        reports.period(dt.date(2024, 4, 1), dt.date(2024, 3, 31))
    assert list(err.value.errors) == ["from"]
    with pytest.raises(Invalid):
        reports.period(dt.date(2014, 1, 1), dt.date(2024, 3, 31))


def count_queries(fn):
    statements = []

    def listener(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return len(statements)


def test_the_report_takes_the_same_few_queries_however_many_tickets(ctx):
    story()
    small = count_queries(lambda: reports.sla_report(*MARCH, now=NOW))
    for hours in range(40):
        sf.resolved(utc((3, 3), 2), utc((3, 3), 2) + (hours + 1) * H, company=BETA)
        sf.ticket(NOW - hours * H, company=GAMMA)
    large = count_queries(lambda: reports.sla_report(*MARCH, now=NOW))
    assert small == large <= 5


# ---------------------------------------------------------------- API and CSV


def test_ops_get_the_report_as_json(ops, ctx):
    companies = story()
    resp = ops.get("/api/reports/sla?from=2024-03-01&to=2024-03-31")
    assert resp.status_code == 200
    body = resp.json
    assert (body["from"], body["to"]) == ("2024-03-01", "2024-03-31")
    # Every open ticket of this story is more than 7 days old by the real clock.
    assert [(r["bucket"], r["total"]) for r in body["open_by_age"]] == [
        ("under_1_day", 0), ("1_to_3_days", 0), ("3_to_7_days", 0), ("7_days_and_more", 8)]
    assert body["by_contractor"] == [
        {**row, "mttr_hours": None if row["mttr_hours"] is None else str(row["mttr_hours"])}
        for row in expected_contractors(companies)]
    assert body["costs_total"] == {"period": "total", "maintenance_labour": "450.50", "parts": "1100.00",
                                   "travel": "80.00", "total": "1630.50"}


def csv_rows(resp):
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(resp.data.decode("utf-8-sig"))))


def test_each_table_downloads_as_csv(ops, ctx):
    companies = story()
    url = "/api/reports/sla?from=2024-03-01&to=2024-03-31&format=csv&table="
    resp = ops.get(url + "contractors")
    assert 'filename="sla-contractors-2024-03-01-2024-03-31.csv"' in resp.headers["Content-Disposition"]
    assert csv_rows(resp) == [
        ["Company id", "Company", "Open", "Open at risk", "Open breached", "Resolved", "Resolved late (breached)", "MTTR (hours)"],
        [str(companies[ALPHA]), ALPHA, "3", "0", "2", "3", "1", "53.3"],
        [str(companies[BETA]), BETA, "2", "1", "1", "2", "0", "18.3"],
        [str(companies[GAMMA]), GAMMA, "0", "0", "0", "0", "0", ""],
        ["", "unassigned", "3", "2", "0", "1", "0", "3.0"],
    ]
    assert csv_rows(ops.get(url + "costs")) == [
        ["Month", "Labour (CNY)", "Parts (CNY)", "Travel (CNY)", "Total (CNY)"],
        ["2024-03", "450.50", "1100.00", "80.00", "1630.50"],
        ["total", "450.50", "1100.00", "80.00", "1630.50"],
    ]
    ages = csv_rows(ops.get(url + "ages"))
    assert ages[0] == ["Age", "From (days)", "Under (days)", "Open", "Assigned", "In progress", "Total"]
    assert ages[4] == ["7_days_and_more", "7", "", "3", "4", "1", "8"] and ages[5][0] == "total"
    categories = csv_rows(ops.get(url + "categories"))
    assert categories[1] == ["camera_fault", "1", "0", "1", "3", "0", "25.5"] and len(categories) == 9
    # In Chinese: the headers, the code columns and the named rows in words
    zh = {"Accept-Language": "zh-CN"}
    ages = csv_rows(ops.get(url + "ages", headers=zh))
    assert ages[0][:4] == ["开单时长", "起（天）", "止（不足，天）", "待派单"] and ages[4][0] == "7天及以上" and ages[5][0] == "合计"
    contractors = csv_rows(ops.get(url + "contractors", headers=zh))
    assert contractors[0][:2] == ["安装单位编号", "安装单位"] and contractors[-1][1] == "未派单"
    assert csv_rows(ops.get(url + "categories", headers=zh))[1][0] == "摄像头故障"


def test_a_bad_request_is_refused_with_the_field_to_fix(ops, ctx):
    resp = ops.get("/api/reports/sla?from=2024-04-01&to=2024-03-31")
    assert resp.status_code == 422 and "from" in resp.json["errors"]
    resp = ops.get("/api/reports/sla?format=csv")
    assert resp.status_code == 422 and "table" in resp.json["errors"]
    assert ops.get("/api/reports/sla?format=csv&table=tickets").status_code == 422
    assert ops.get("/api/reports/sla?from=March").status_code == 422


@pytest.mark.parametrize("role,status", [("contractor", 403), ("reviewer", 403), ("anon", 401)])
def test_the_report_is_for_operations_staff_only(request, role, status):
    client = request.getfixturevalue(role)
    assert client.get("/api/reports/sla").status_code == status
    assert client.get("/api/reports/sla?format=csv&table=costs").status_code == status


# ---------------------------------------------------------------- the page


class Rows(HTMLParser):
    """The text of each cell of every table row with an id: {row id: [cell text, ...]}, and every link."""

    def __init__(self, html):
        super().__init__()
        self.rows, self.links, self._row, self._cell = {}, [], None, None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and attrs.get("id"):
            self._row = self.rows.setdefault(attrs["id"], [])
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""
        elif tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join(self._cell.split()))
            self._cell = None
        elif tag == "tr":
            self._row = None


def test_the_page_shows_the_tables_for_the_period_with_links_to_the_tickets(ops, ctx):
    companies = story()
    resp = ops.get("/reports/sla?from=2024-03-01&to=2024-03-31")
    assert resp.status_code == 200
    page = Rows(resp.get_data(as_text=True))
    assert page.rows[f"contractor-{companies[ALPHA]}"] == [ALPHA, "3", "0", "2", "3", "1", "53.3"]
    assert page.rows[f"contractor-{companies[GAMMA]}"] == [GAMMA, "0", "0", "0", "0", "0", "—"]
    assert page.rows["contractor-unassigned"] == ["Unassigned", "3", "2", "0", "1", "0", "3.0"]
    assert page.rows["category-device_offline"] == ["Device offline", "7", "3", "2", "3", "1", "41.0"]
    assert page.rows["age-7_days_and_more"] == ["7 days and more", "3", "4", "1", "8"]
    assert page.rows["cost-2024-03"] == ["2024-03", "450.50", "1100.00", "80.00", "1630.50"]
    ticket_lists = [dict(parse_qsl(u.query)) for u in map(urlsplit, page.links) if u.path.endswith("/tickets")]
    assert {"state": "active", "sla_state": "breached", "company_id": str(companies[ALPHA])} in ticket_lists
    assert {"state": "open", "sla_state": "at_risk"} in ticket_lists  # the unassigned active tickets are the open ones
    assert {"state": "active", "sla_state": "breached", "category": "camera_fault"} in ticket_lists
    assert {"state": "assigned"} in ticket_lists  # the age table's column
    assert "/reports/sla/costs.csv?from=2024-03-01&to=2024-03-31" in page.links

    csv_resp = ops.get("/reports/sla/costs.csv?from=2024-03-01&to=2024-03-31")
    assert csv_rows(csv_resp)[1] == ["2024-03", "450.50", "1100.00", "80.00", "1630.50"]
    assert ops.get("/reports/sla/tickets.csv").status_code == 404


def test_the_page_with_a_bad_period_says_so_and_shows_the_default(ops, ctx):
    resp = ops.get("/reports/sla?from=2024-04-01&to=2024-03-31")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "The start of the period must be on or before its end" in html
    default_start, default_end = reports.period()
    assert f'value="{default_start.isoformat()}"' in html and f'value="{default_end.isoformat()}"' in html


@pytest.mark.parametrize("role,status", [("contractor", 403), ("reviewer", 403)])
def test_the_page_is_for_operations_staff_only(request, role, status):
    client = request.getfixturevalue(role)
    assert client.get("/reports/sla").status_code == status
    assert client.get("/reports/sla/costs.csv").status_code == status


def test_anonymous_visitors_are_sent_to_the_login_page(anon):
    resp = anon.get("/reports/sla")
    assert resp.status_code in (302, 401)
