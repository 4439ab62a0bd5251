""""Export Excel" of every operations list: the XLSX (read back with openpyxl) holds exactly the rows the JSON API
gives for the same filter and sort, all pages of it, with Chinese headers and labels (English with lang=en); the
same file from the page; EXPORT_MAX_ROWS refuses a longer list whole; a contractor's export holds its company's
rows only; a reviewer gets none; formula-looking text stays text."""
import datetime as dt
import io
import re
from decimal import Decimal
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from flask_babel import force_locale

from insurer_dms import labels
from tests import install_factories as f
from tests import statement_factories as sf
from tests import ticket_factories as tf
from tests.factories import make_devices, make_entry, make_po

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
CJK = re.compile(r"[\u4e00-\u9fff]")
CODES = ("IMEI", "VIN", "ICCID", "ADAS", "DSM", "BSD")  # headers that are the code itself, as on the page


# ---- what each list holds (built for its own test) --------------------------------------------------------------


def devices_scene():
    po = make_po(quantity=9, number="PO-EXP-1")
    make_devices(po, 5)
    make_devices(po, 2, start=50, status="faulty")


def purchase_orders_scene():
    entry = make_entry()
    for n in range(3):
        make_po([entry], number=f"PO-EXP-{n}", order_date=dt.date(2021, 4, 1 + n))
    make_po([entry], number="PO-OTHER-9")


def fleet_scene():
    owner = f.operator(name="=1+1 潮州物流")  # formula-looking text from a user: stays text in the file
    for _ in range(3):
        f.insured_truck(owner=owner)
    f.insured_truck(heavy=False, county="445122")
    f.operator()
    f.operator()


def sims_scene():
    plan = sf.plan(code="CM-EXP")
    for _ in range(3):
        sf.sim(plan)
    sf.sim(None, status="in_stock", activated_on=None)


def plans_scene():
    for n in range(4):
        sf.plan(code=f"CM-EXP-{n}", fee=f"{10 + n}.50")
    sf.plan(code="CU-EXP", carrier="china_unicom")


def statements_scene():
    sim = sf.sim(sf.plan())
    for _ in range(3):
        sf.statement([sf.line(sim.iccid, "30.00", "1.16")])
    sf.statement([], carrier="china_unicom")


def orders_scene():
    for _ in range(3):
        f.assigned_order(tf.ALPHA)
    f.assigned_order(tf.BETA)
    f.open_order()


def tickets_scene():
    tf.installed_truck_with_ticket("assigned", tf.ALPHA)
    tf.installed_truck_with_ticket("in_progress", tf.ALPHA, category="camera_fault")
    tf.installed_truck_with_ticket("assigned", tf.BETA)
    tf.advance(tf.installed_truck_with_ticket("open", tf.ALPHA), "cancelled")


def catalogue_scene():
    for n in range(3):
        make_entry(lot=str(n + 1), bid_unit_price=Decimal(f"{2380 + n * 10}.00"), bsd=bool(n % 2),
                   device_type="split" if n == 2 else "all_in_one")
    make_entry(manufacturer="Jimi", withdrawn_on=dt.date(2022, 6, 1))


def road_checks_scene():
    from insurer_dms.extensions import db
    from insurer_dms.maintenance.models import RoadCheckImport

    for n in range(4):
        db.session.add(RoadCheckImport(filename=f"路检路查-{n}.csv", sha256=f"{n:064d}", rows=5 + n, tickets=n, work_orders=1,
                                       recorded=n % 2, unknown_plates=3 - n))
    db.session.commit()


def online_status_scene():
    from insurer_dms.extensions import db
    from insurer_dms.installs.models import OnlineStatusImport

    for n in range(3):
        db.session.add(OnlineStatusImport(filename=f"platform-{n}.csv", object_key=f"online-status/{n}.csv", sha256=f"{n:064d}",
                                          status="done", rows=10 + n, matched=8 - n, connected=n,
                                          unmatched=[{"row": r, "value": "粤U00000", "reason": "no_device"} for r in range(n)]))
    db.session.add(OnlineStatusImport(filename="platform-9.csv", object_key="online-status/9.csv", sha256="9" * 64))
    db.session.commit()


def audits_scene():
    from insurer_dms.audits.models import AuditRun
    from insurer_dms.extensions import db
    from insurer_dms.types import utcnow

    for n in range(3):
        db.session.add(AuditRun(scope=f"2024-0{n + 1}-01..2024-0{n + 1}-28", period_from=dt.date(2024, n + 1, 1),
                                period_to=dt.date(2024, n + 1, 28), counties=["445102", "445122"][:n] or None,
                                tolerance=Decimal("1.00"), status="published", renewals_audited=10 + n, findings_count=n,
                                excess_total=Decimal("918.00") * n, published_at=utcnow()))
    db.session.add(AuditRun(scope="2024-09-01..2024-09-30", period_from=dt.date(2024, 9, 1), period_to=dt.date(2024, 9, 30),
                            tolerance=Decimal("1.00"), status="draft"))
    db.session.commit()


# ---- how a JSON row reads as a row of the file ------------------------------------------------------------------


def day(text):
    return dt.date.fromisoformat(text) if text else None


def moment(text):
    """An API time as the file's: Beijing time without a zone, to the second."""
    if not text:
        return None
    return dt.datetime.fromisoformat(text).astimezone(LOCAL_TZ).replace(tzinfo=None, microsecond=0)


def money(text):
    return float(Decimal(text))


def shown(kind, value):
    return labels.cell(kind, value)  # the label, or in English the code itself


def yes_no(value):
    """A yes/no column: 是/否, or in English the boolean itself."""
    from flask_babel import get_locale

    return value if get_locale().language == "en" else labels.yes_no_labels()[value]


CASES = {
    "devices": dict(
        scene=devices_scene, url="/api/devices", page="/devices", query="status=in_stock&sort=-serial",
        headers=["Serial", "Terminal ID", "IMEI", "Model", "State", "Purchase order", "Line", "Received on"],
        row=lambda d: [d["serial"], d["terminal_id"], d["imei"], d["catalogue_entry"], shown("device_state", d["status"]),
                       d["purchase_order_number"], d["line_no"], day(d["received_on"])]),
    "purchase_orders": dict(
        scene=purchase_orders_scene, url="/api/purchase-orders", page="/purchase-orders", query="q=PO-EXP&sort=-order_date",
        headers=["Number", "Supplier", "Order date", "Ordered", "Received"],
        row=lambda p: [p["number"], p["supplier"], day(p["order_date"]), p["quantity"], p["received"]]),
    "trucks": dict(
        scene=fleet_scene, url="/api/trucks", page="/trucks", query="heavy=true&sort=-plate",
        headers=["Plate", "VIN", "Vehicle type", "Total mass (kg)", "Heavy", "County", "Operator"],
        row=lambda t: [t["plate"], t["vin"], shown("vehicle_type", t["vehicle_type"]), t["total_mass_kg"],
                       yes_no(t["is_heavy"]), shown("county", t["county_code"]), t["operator"]["name"]]),
    "policies": dict(
        scene=fleet_scene, url="/api/policies", page="/policies", query="kind=commercial&sort=plate",
        headers=["Number", "Plate", "Kind", "Start date", "End date", "Premium (CNY)", "Benchmark (CNY)"],
        row=lambda p: [p["number"], p["truck"]["plate"], shown("policy_kind", p["kind"]), day(p["start_date"]),
                       day(p["end_date"]), money(p["premium"]), money(p["benchmark_premium"])]),
    "operators": dict(
        scene=fleet_scene, url="/api/operators", page="/operators", query="county_code=445102&sort=credit_code",
        headers=["Name", "Unified social credit code", "County", "Contact phone"],
        row=lambda o: [o["name"], o["credit_code"], shown("county", o["county_code"]), o["contact_phone"]]),
    "sims": dict(
        scene=sims_scene, url="/api/sims", page="/sims", query="status=active&sort=-iccid",
        headers=["ICCID", "Terminal number", "Carrier", "Plan", "Status", "Activated on", "Deactivated on"],
        row=lambda s: [s["iccid"], s["msisdn"], shown("carrier", s["carrier"]), (s["plan"] or {}).get("code"),
                       shown("sim_state", s["status"]), day(s["activated_on"]), day(s["deactivated_on"])]),
    "plans": dict(
        scene=plans_scene, url="/api/data-plans", page="/data-plans", query="carrier=china_mobile&sort=-monthly_fee",
        headers=["Carrier", "Code", "Name", "Monthly fee (CNY)", "Allowance (MB)", "Overage per MB (CNY)", "Valid from",
                 "Valid to"],
        row=lambda p: [shown("carrier", p["carrier"]), p["code"], p["name"], money(p["monthly_fee"]), p["allowance_mb"],
                       money(p["overage_per_mb"]), day(p["valid_from"]), day(p["valid_to"])]),
    "statements": dict(
        scene=statements_scene, url="/api/statements", page="/statements", query="carrier=china_mobile&sort=version",
        headers=["Month", "Carrier", "Version", "Status", "Lines", "Billed (CNY)", "File", "Uploaded"],
        row=lambda s: [s["period"], shown("carrier", s["carrier"]), s["version"], shown("statement_state", s["status"]),
                       s["line_count"], money(s["billed_total"]), s["filename"], moment(s["created_at"])]),
    "work_orders": dict(
        scene=orders_scene, url="/api/work-orders", page="/work-orders", query="state=assigned&sort=plate",
        headers=["Number", "Plate", "County", "Order kind", "State", "Company", "Appointment", "Created on", "Needs review"],
        row=lambda o: [o["number"], o["truck"]["plate"], shown("county", o["truck"]["county_code"]),
                       shown("order_kind", o["kind"]), shown("order_state", o["state"]), (o["company"] or {}).get("name"),
                       moment(o["appointment_at"]), moment(o["created_at"]), yes_no(o["needs_review"])]),
    "tickets": dict(
        scene=tickets_scene, url="/api/tickets", page="/tickets", query="state=active&sort=-opened_at",
        headers=["Number", "Plate", "Category", "Priority", "State", "SLA due", "SLA", "Company", "Opened"],
        row=lambda t: [t["number"], t["truck"]["plate"], shown("ticket_category", t["category"]),
                       shown("ticket_priority", t["priority"]), shown("ticket_state", t["state"]), moment(t["sla_due_at"]),
                       shown("sla_state", t["sla_state"]), (t["company"] or {}).get("name"), moment(t["opened_at"])]),
    "catalogue": dict(
        scene=catalogue_scene, url="/api/catalogue", page="/catalogue", query="manufacturer=Streamax&sort=-bid_unit_price",
        headers=["Tender batch", "Lot", "Manufacturer", "Model", "Type", "ADAS", "DSM", "BSD", "Channels",
                 "Bid unit price (CNY)", "Valid from", "Valid to", "Withdrawn on"],
        row=lambda e: [e["tender_batch"], e["lot"], e["manufacturer"], e["model_code"], shown("device_type", e["device_type"]),
                       yes_no(e["adas"]), yes_no(e["dsm"]), yes_no(e["bsd"]), e["video_channels"],
                       money(e["bid_unit_price"]), day(e["valid_from"]), day(e["valid_to"]), day(e["withdrawn_on"])]),
    "road_checks": dict(
        scene=road_checks_scene, url="/api/road-checks", page="/road-checks", query="sort=-unknown_plates",
        headers=["File", "Uploaded", "Rows", "Tickets", "Work orders", "Recorded", "Unknown plates"],
        row=lambda i: [i["filename"], moment(i["created_at"]), i["rows"], i["tickets"], i["work_orders"], i["recorded"],
                       i["unknown_plates"]]),
    "online_status": dict(
        scene=online_status_scene, url="/api/online-status/imports", page="/online-status", query="sort=-matched",
        headers=["File", "Uploaded", "Status", "Rows", "Matched", "Connected", "Unmatched"],
        row=lambda i: [i["filename"], moment(i["created_at"]), shown("import_status", i["status"]), i["rows"], i["matched"],
                       i["connected"], len(i["unmatched"] or []) if i["status"] == "done" else None]),
    "audits": dict(
        scene=audits_scene, url="/api/audits", page="/audits", query="status=published&sort=-excess_total",
        headers=["Audit", "Period from", "Period to", "Counties", "Version", "Status", "Renewals audited", "Findings",
                 "Excess premium (CNY)", "Created on", "Published"],
        row=lambda a: [a["id"], day(a["period_from"]), day(a["period_to"]),
                       ", ".join(shown("county", c) for c in a["counties"]) if a["counties"] else None, a["version"],
                       shown("audit_status", a["status"]), a["renewals_audited"], a["findings_count"],
                       money(a["excess_total"]), moment(a["created_at"]), moment(a["published_at"])]),
}


def api_rows(client, url, query, page_size=2):
    """Every item of the filtered list, page after page."""
    items, page = [], 1
    while True:
        resp = client.get(f"{url}?{query}&page={page}&page_size={page_size}")
        assert resp.status_code == 200, resp.get_data(as_text=True)
        items += resp.json["items"]
        if page >= resp.json["pages"]:
            return items
        page += 1


def sheet_rows(resp):
    assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
    assert resp.mimetype == XLSX
    book = openpyxl.load_workbook(io.BytesIO(resp.data))
    return [list(row) for row in book.active.iter_rows(values_only=True)]


def normalised(rows, case):
    """The file's cells as the expected rows hold them: a date column's cells as dates, times to the second."""
    date_columns = {i for i, h in enumerate(case["headers"]) if h in (
        "Received on", "Order date", "Start date", "End date", "Activated on", "Deactivated on", "Valid from", "Valid to",
        "Withdrawn on", "Period from", "Period to")}
    out = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            if isinstance(value, dt.datetime):
                value = value.date() if i in date_columns else value.replace(microsecond=0)
            cells.append(value)
        out.append(cells)
    return out


def close_times(expected, got):
    """Excel keeps times to the millisecond: a time may read back a second off after rounding."""
    if isinstance(expected, dt.datetime) and isinstance(got, dt.datetime):
        return abs(expected - got) <= dt.timedelta(seconds=1)
    return expected == got


def expected_rows(app, case, items, language):
    with app.test_request_context(), force_locale(language):
        return [[str(v) if hasattr(v, "__html__") else v for v in case["row"](item)] for item in items]


@pytest.mark.parametrize("name", list(CASES))
def test_the_export_is_the_apis_filtered_rows_with_chinese_headers(app, ops, ctx, name):
    case = CASES[name]
    case["scene"]()
    items = api_rows(ops, case["url"], case["query"])
    assert len(items) >= 3  # more than one page of 2
    rows = normalised(sheet_rows(ops.get(f"{case['url']}?{case['query']}&format=xlsx&page_size=1")), case)
    header, body = rows[0], rows[1:]
    with app.test_request_context(), force_locale("zh_CN"):
        from flask_babel import gettext
        assert header == [h if h in CODES else gettext(h) for h in case["headers"]]
    assert all(CJK.search(h) or h in CODES for h in header), header
    expected = expected_rows(app, case, items, "zh_CN")
    assert len(body) == len(expected)
    for want, got in zip(expected, body):
        assert all(close_times(w, g) for w, g in zip(want, got)) and len(want) == len(got), (want, got)

    # the same file through Accept, and from the page's "Export Excel"
    by_accept = normalised(sheet_rows(ops.get(f"{case['url']}?{case['query']}", headers={"Accept": XLSX})), case)
    from_page = normalised(sheet_rows(ops.get(f"{case['page']}?{case['query']}&format=xlsx")), case)
    assert len(by_accept) == len(from_page) == len(rows) and by_accept[0] == from_page[0] == header
    assert [r[0] for r in by_accept] == [r[0] for r in from_page] == [r[0] for r in rows]


@pytest.mark.parametrize("name", ["devices", "work_orders", "trucks"])
def test_lang_en_gives_english_headers_and_labels(app, ops, ctx, name):
    case = CASES[name]
    case["scene"]()
    items = api_rows(ops, case["url"], case["query"])
    resp = ops.get(f"{case['url']}?{case['query']}&format=xlsx&lang=en")
    rows = normalised(sheet_rows(resp), case)
    assert rows[0] == case["headers"]
    expected = expected_rows(app, case, items, "en")
    assert [r[0] for r in rows[1:]] == [r[0] for r in expected]
    assert all(close_times(w, g) for want, got in zip(expected, rows[1:]) for w, g in zip(want, got))
    assert 'filename="' in resp.headers["Content-Disposition"] and ".xlsx" in resp.headers["Content-Disposition"]


def test_the_file_name_is_chinese_with_an_ascii_fallback(ops, ctx):
    devices_scene()
    disposition = ops.get("/api/devices?format=xlsx").headers["Content-Disposition"]
    fallback = re.search(r'filename="([^"]*)"', disposition).group(1)
    full = unquote(re.search(r"filename\*=UTF-8''(\S+)", disposition).group(1))
    assert fallback.isascii() and fallback.startswith("devices ") and fallback.endswith(".xlsx")
    assert CJK.search(full) and full.endswith(".xlsx")


def test_the_export_is_every_row_of_the_filter_not_one_page(ops, ctx):
    devices_scene()
    resp = ops.get("/api/devices?page_size=2&page=2&format=xlsx")
    assert len(sheet_rows(resp)) == 1 + 7 and resp.headers["X-Export-Rows"] == "7"


def test_more_rows_than_export_max_rows_are_refused_whole(app, ops, ctx):
    devices_scene()
    app.config["EXPORT_MAX_ROWS"] = 6
    try:
        resp = ops.get("/api/devices?format=xlsx", headers={"Accept-Language": "zh-CN"})
        assert resp.status_code == 422 and resp.mimetype == "application/json"
        assert "7" in resp.json["message"] and "6" in resp.json["message"] and "缩小筛选范围" in resp.json["message"]
        resp = ops.get("/api/devices?format=xlsx&lang=en")
        assert resp.status_code == 422 and "narrow the filters" in resp.json["message"]
        page = ops.get("/devices?status=in_stock&format=xlsx")  # 5 rows: within the limit
        assert page.status_code == 200 and page.mimetype == XLSX
        page = ops.get("/devices?sort=serial&format=xlsx")
        assert page.status_code == 302 and "format" not in page.headers["Location"] and "sort=serial" in page.headers["Location"]
        html = ops.get(page.headers["Location"]).get_data(as_text=True)
        assert "more than the 6 an export may hold" in html
    finally:
        app.config["EXPORT_MAX_ROWS"] = 100_000


def test_a_contractor_exports_only_its_companys_rows(contractor, ctx):
    orders_scene()
    tickets_scene()
    for url in ("/api/work-orders?format=xlsx", "/my/orders?format=xlsx"):
        rows = sheet_rows(contractor.get(url))
        companies = {r[5] for r in rows[1:]}
        assert len(rows) > 1 and companies == {tf.ALPHA}, (url, companies)
    for url in ("/api/tickets?format=xlsx", "/my/tickets?format=xlsx"):
        rows = sheet_rows(contractor.get(url))
        assert len(rows) > 1 and {r[7] for r in rows[1:]} == {tf.ALPHA}, url
    assert contractor.get("/api/devices?format=xlsx").status_code == 403  # not a contractor's list at all


@pytest.mark.parametrize("url", ["/api/work-orders?format=xlsx", "/api/tickets?format=xlsx", "/api/devices?format=xlsx",
                                 "/api/trucks?format=xlsx", "/work-orders?format=xlsx", "/tickets?format=xlsx",
                                 "/api/catalogue?format=xlsx", "/catalogue?format=xlsx", "/api/road-checks?format=xlsx",
                                 "/road-checks?format=xlsx", "/api/online-status/imports?format=xlsx",
                                 "/online-status?format=xlsx", "/audits?format=xlsx"])
def test_a_reviewer_gets_no_export(reviewer, ctx, url):
    resp = reviewer.get(url)
    assert resp.status_code == 403 and resp.mimetype != XLSX


def test_a_reviewer_exports_only_the_published_audits(reviewer, ctx):
    audits_scene()
    rows = sheet_rows(reviewer.get("/api/audits?format=xlsx&lang=en&sort=id"))
    assert [r[5] for r in rows[1:]] == ["published"] * 3


def test_formula_looking_text_is_written_as_text(ops, ctx):
    fleet_scene()
    book = openpyxl.load_workbook(io.BytesIO(ops.get("/api/trucks?format=xlsx").data))
    cells = [row[6] for row in book.active.iter_rows(min_row=2)]
    risky = [c for c in cells if c.value == "=1+1 潮州物流"]
    assert risky and all(c.data_type == "s" and c.quotePrefix for c in risky)


def test_money_is_a_number_with_two_decimals_and_dates_are_date_cells(ops, ctx):
    fleet_scene()
    book = openpyxl.load_workbook(io.BytesIO(ops.get("/api/policies?format=xlsx").data))
    row = next(book.active.iter_rows(min_row=2, max_row=2))
    assert row[5].data_type == "n" and row[5].value == 9180 and row[5].number_format == "0.00"
    assert row[3].is_date and row[3].value.date() == dt.date(2021, 1, 1)


def test_openapi_documents_the_xlsx_answer_and_the_sort(ops):
    spec = ops.get("/api/openapi.json").json
    for path in ("/api/devices", "/api/trucks", "/api/policies", "/api/sims", "/api/work-orders", "/api/tickets",
                 "/api/operators", "/api/purchase-orders", "/api/data-plans", "/api/statements", "/api/catalogue",
                 "/api/road-checks", "/api/online-status/imports", "/api/audits"):
        get = spec["paths"][path]["get"]
        assert set(get["responses"]["200"]["content"]) == {"application/json", XLSX}, path
        params = {p["name"]: p for p in get["parameters"]}
        assert {"sort", "format", "lang"} <= set(params), path
        assert params["sort"]["schema"]["maxLength"] <= 40 and "-" + params["sort"]["schema"]["enum"][0] in params["sort"]["schema"]["enum"]


@pytest.mark.parametrize("name,column", [("catalogue", "bid_unit_price"), ("road_checks", "unknown_plates"),
                                         ("online_status", "matched"), ("audits", "excess_total")])
def test_the_new_list_pages_sort_by_their_headers_and_link_the_export(ops, ctx, name, column):
    case = CASES[name]
    case["scene"]()
    html = ops.get(f"{case['page']}?sort={column}").get_data(as_text=True)
    assert f'class="sort-link" data-sort="{column}"' in html and 'aria-sort="ascending"' in html
    assert 'id="export-xlsx"' in html and "format=xlsx" in html
    assert ops.get(f"{case['page']}?sort=nope").status_code != 500
