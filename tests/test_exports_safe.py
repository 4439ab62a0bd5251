"""Exports are safe: text that looks like a formula, entered through the real input paths (a policy number in the
policy-system file, a manufacturer in the catalogue file, a contractor company's name), comes out of every CSV and
XLSX export as text; amounts stay numbers; every download name makes a safe Content-Disposition header.

A file import strips each cell, so tab- and CR-led text reaches the exports through the JSON API instead.
"""
import csv
import datetime as dt
import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from werkzeug.http import parse_options_header

from insurer_dms import exports
from insurer_dms.downloads import content_disposition
from insurer_dms.extensions import db
from insurer_dms.fleet.samples import HEADERS, ExportBuilder
from tests import install_factories as inst
from tests import statement_factories as sf
from tests.factories import HEADERS_EN, catalogue_rows, entry_payload, make_devices, make_po, upload
from tests.factories import csv_bytes as raw_csv

FILE_FORMULAS = ['=HYPERLINK("http://x.example/","Click")', "+1", "-1+2", "@SUM(A1)"]
API_FORMULAS = ["\t=1+1", "\r=HYPERLINK(\"http://x.example/\")"]
FORMULAS = FILE_FORMULAS + API_FORMULAS
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")
PACKAGE = Path(__file__).resolve().parent.parent / "insurer_dms"


# ---------------------------------------------------------------- reading an export back


def csv_cells(data):
    text = data.decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def assert_csv_neutral(data, texts):
    """Every text of ``texts`` is in the CSV behind a quote; no cell can start a formula (a leading ``-`` only on a
    plain number we wrote)."""
    cells = csv_cells(data)
    for text in texts:
        assert "'" + text in cells, (text, [c for c in cells if text in c])
    for cell in cells:
        if cell.startswith(TRIGGERS):
            assert cell.startswith("-") and PLAIN_NUMBER.fullmatch(cell), cell
    return cells


def xlsx_values(data):
    """{sheet: [[cell]]} read back with openpyxl, after proving no sheet XML holds a formula element."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        for name in book.namelist():
            if name.startswith("xl/worksheets/"):
                xml = book.read(name)
                assert b"<f>" not in xml and b"<f " not in xml and b"<f/>" not in xml, name
    workbook = load_workbook(io.BytesIO(data))
    return {sheet.title: [list(row) for row in sheet.iter_rows()] for sheet in workbook.worksheets}


def assert_xlsx_neutral(data, texts):
    """No formula cell anywhere; every text of ``texts`` is a quote-prefixed string cell with the text unchanged
    (XML reads a bare CR as LF)."""
    cells = [cell for rows in xlsx_values(data).values() for row in rows for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    found = {cell.value: cell for cell in cells if isinstance(cell.value, str)}
    for text in texts:
        cell = found.get(text) or found.get(text.replace("\r", "\n"))
        assert cell is not None, (text, sorted(found)[:40])
        assert cell.data_type == "s" and cell.quotePrefix
    return cells


# ---------------------------------------------------------------- the writer itself


@pytest.mark.parametrize("text", FORMULAS)
def test_a_formula_looking_text_is_quoted_in_csv_and_a_string_cell_in_xlsx(text):
    assert exports.csv_cell(text) == "'" + text
    assert_csv_neutral(exports.csv_bytes([["Policy"], [text]]), [text])
    assert_xlsx_neutral(exports.xlsx_bytes([exports.Sheet("Findings", [["Policy"], [text]])]), [text])


def test_numbers_stay_numbers_and_a_negative_amount_is_not_quoted():
    row = [Decimal("-12.50"), -3, 0.5, dt.date(2026, 9, 1), None, "-12.50", "粤U12345", "#REF!"]
    assert [exports.csv_cell(v) for v in row] == ["-12.50", "-3", "0.5", "2026-09-01", "", "'-12.50", "粤U12345", "#REF!"]
    (cells,) = xlsx_values(exports.xlsx_bytes([exports.Sheet("Costs", [row])])).values()
    amount, integer, fraction, day, empty, text, plate, error = cells[0]
    assert (amount.value, amount.data_type, amount.number_format) == (Decimal("-12.5"), "n", "0.00")
    assert (integer.value, integer.data_type) == (-3, "n")
    assert fraction.value == 0.5 and day.is_date and empty.value is None
    assert (text.value, text.data_type, text.quotePrefix) == ("-12.50", "s", True)
    assert (plate.value, plate.data_type, plate.quotePrefix) == ("粤U12345", "s", False)
    assert (error.value, error.data_type) == ("#REF!", "s")  # text, never an error value


def test_an_aware_time_is_written_as_the_time_in_chaozhou_and_a_boolean_as_a_boolean():
    moment = dt.datetime(2026, 9, 1, 2, 30, tzinfo=dt.timezone.utc)
    (cells,) = xlsx_values(exports.xlsx_bytes([exports.Sheet("Times", [[moment, True]])])).values()
    assert cells[0][0].value == dt.datetime(2026, 9, 1, 10, 30) and (cells[0][1].value, cells[0][1].data_type) == (True, "b")
    assert exports.csv_cell(moment) == "2026-09-01T02:30:00+00:00"


def test_characters_xml_cannot_hold_do_not_break_the_workbook():
    (cells,) = xlsx_values(exports.xlsx_bytes([exports.Sheet("A/B:C*?[x]", [["PDAA\x01\x0b1"]])])).values()
    assert cells[0][0].value == "PDAA\ufffd\ufffd1"


def test_no_module_writes_csv_or_xlsx_except_through_the_writer():
    writers = re.compile(r"csv\.writer\(|csv\.DictWriter\(|\bDictWriter\(|\bWorkbook\(|^\s*(from|import) openpyxl\b",
                         re.MULTILINE)
    readers = re.compile(r"load_workbook\(")
    headers = re.compile(r"Content-Disposition|send_file\(|download_name")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        source, name = path.read_text(encoding="utf-8"), path.relative_to(PACKAGE).as_posix()
        if writers.search(source) and name not in ("exports.py", "imports.py"):
            offenders.append(("writes CSV/XLSX", name))
        if readers.search(source) and name != "imports.py":
            offenders.append(("opens a workbook", name))
        if headers.search(source) and name != "downloads.py":
            offenders.append(("builds a download header", name))
    assert offenders == []
    assert not re.search(r"\bWorkbook\(", (PACKAGE / "imports.py").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- the published audit (policy numbers by file)


def _export_row(truck, number, start, autonomous, premium):
    return {**truck, "保单号": number, "险种": "商业险", "起保日期": start.isoformat(),
            "终保日期": (start.replace(year=start.year + 1) - dt.timedelta(days=1)).isoformat(),
            "保费": premium, "基准保费": "10800.00", "NCD系数": "0.8500", "自主定价系数": autonomous, "交通违法系数": "1.0000",
            "车损险保额": "", "三者险保额": "", "司乘险保额": ""}


@pytest.fixture
def published_with_formulas(app, ops):
    """Three trucks with a device whose autonomous coefficient rose at the 2025-03-01 renewal: two imported from a
    policy-system file whose policy numbers look like formulas, one whose policies were entered through the API."""
    builder = ExportBuilder(seed=14)
    rows, plates = [], []
    for previous, renewal in (FILE_FORMULAS[0:2], FILE_FORMULAS[2:4]):
        truck = builder.truck(builder.operator("445102"), vehicle="重型普通货车")
        plates.append(truck["车牌号码"])
        rows += [_export_row(truck, previous, dt.date(2024, 3, 1), "1.0000", "9180.00"),
                 _export_row(truck, renewal, dt.date(2025, 3, 1), "1.1000", "10098.00")]
    resp = upload(ops, "/api/policies/import", raw_csv(HEADERS, [[row[h] for h in HEADERS] for row in rows]), "保单导出.csv")
    assert resp.status_code == 200, resp.json
    with app.app_context():
        from insurer_dms.fleet.models import Truck

        trucks = [db.session.scalar(select(Truck).where(Truck.plate == plate)) for plate in plates]
        third = inst.insured_truck(policy=False)
        for truck in [*trucks, third]:
            inst.installed_directly(truck=truck)
        third_id = third.id
    for number, start, autonomous, premium in ((API_FORMULAS[0], dt.date(2024, 3, 1), "1.0000", "9180.00"),
                                              (API_FORMULAS[1], dt.date(2025, 3, 1), "1.1000", "10098.00")):
        resp = ops.post("/api/policies", json={
            "number": number, "truck_id": third_id, "kind": "commercial", "start_date": start.isoformat(),
            "end_date": (start.replace(year=start.year + 1) - dt.timedelta(days=1)).isoformat(), "premium": premium,
            "benchmark_premium": "10800.00", "ncd_coefficient": "0.8500", "autonomous_coefficient": autonomous})
        assert resp.status_code == 201, resp.json
    audit = ops.post("/api/audits", json={"period_from": "2025-01-01", "period_to": "2025-03-31"}).json
    published = ops.post(f"/api/audits/{audit['id']}/publish")
    assert published.status_code == 200, published.json
    assert published.json["findings_count"] == 3
    return audit["id"]


def test_the_regulator_downloads_a_published_audit_whose_formula_policy_numbers_are_text(reviewer, published_with_formulas):
    csv_file = reviewer.get(f"/api/audits/{published_with_formulas}/files/csv")
    assert csv_file.status_code == 200
    cells = assert_csv_neutral(csv_file.data, FORMULAS)
    assert "918.00" in cells  # the excess premium of each finding, a number as before

    xlsx_file = reviewer.get(f"/api/audits/{published_with_formulas}/files/xlsx")
    assert xlsx_file.status_code == 200
    assert_xlsx_neutral(xlsx_file.data, FORMULAS)
    findings = xlsx_values(xlsx_file.data)["审计发现"]  # the findings sheet
    excess = [c.value for c in findings[0]].index("超额保费 / Excess premium")
    assert [(row[excess].value, row[excess].data_type) for row in findings[1:]] == [(918, "n")] * 3


# ---------------------------------------------------------------- configuration sheets (catalogue by file and API)


@pytest.fixture
def sheets_with_formulas(app, ops):
    """Installed devices of catalogue entries whose manufacturer (file) or model code (API) looks like a formula."""
    rows = catalogue_rows(len(FILE_FORMULAS))
    for row, text in zip(rows, FILE_FORMULAS):
        row[HEADERS_EN.index("manufacturer")] = text
    assert upload(ops, "/api/catalogue/import", raw_csv(HEADERS_EN, rows), "catalogue.csv").status_code == 201
    for n, text in enumerate(API_FORMULAS):
        resp = ops.post("/api/catalogue", json=entry_payload(manufacturer=text, model_code=f"API-{n}"))
        assert resp.status_code == 201, resp.json
    with app.app_context():
        from insurer_dms.catalogue.models import CatalogueEntry

        orders = []
        for n, entry in enumerate(db.session.scalars(select(CatalogueEntry).order_by(CatalogueEntry.id)).all()):
            po = make_po([entry], quantity=1, number=f"PO-FX-{n}", unit_price=Decimal("1000.00"))
            (device,) = make_devices(po, 1, start=7000 + n)
            orders.append(inst.installed_directly(device=device).id)
        return orders


def test_configuration_sheets_carry_formula_manufacturers_as_text(ops, contractor, sheets_with_formulas):
    every = ops.get("/api/installations/config-sheets.csv")
    assert every.status_code == 200
    assert_csv_neutral(every.data, FORMULAS)
    one = contractor.get(f"/api/work-orders/{sheets_with_formulas[0]}/config-sheet?format=csv")
    assert one.status_code == 200
    assert_csv_neutral(one.data, FILE_FORMULAS[:1])


# ---------------------------------------------------------------- contractors' names: cost report and SLA


@pytest.fixture
def formula_companies(app, ops):
    """A contractor user per formula, created by operations through the API: each brings its company."""
    for n, text in enumerate(FORMULAS):
        resp = ops.post("/api/users", json={"email": f"tech{n}@formula.example.com", "role": "contractor",
                                            "company": text, "password": "password123"})
        assert resp.status_code == 201, resp.json
    with app.app_context():
        from insurer_dms.auth.models import ContractorCompany

        return {c.name: c.id for c in db.session.scalars(select(ContractorCompany))}


def test_the_cost_report_carries_formula_company_names_as_text_and_amounts_as_numbers(app, ops, formula_companies):
    from insurer_dms.ledger import service as ledger

    with app.app_context():
        truck = inst.insured_truck()
        entries = [ledger.post("installation_fee", "280.00", "2026-09", "work_order", n, truck_id=truck.id,
                               company_id=formula_companies[text]) for n, text in enumerate(FORMULAS, start=1)]
        db.session.commit()
        ledger.correct_entry(entries[0].id, "267.50", "the invoice says 267.50")
    url = "/api/reports/costs?from=2026-09&to=2026-09&format="
    assert_csv_neutral(ops.get(url + "csv").data, FORMULAS)
    cells = assert_xlsx_neutral(ops.get(url + "xlsx").data, FORMULAS)
    assert Decimal("1667.5") in [c.value for c in cells if c.data_type == "n"]  # 5 x 280.00 + 267.50, a number


def test_the_sla_download_carries_formula_company_names_as_text(app, ops, formula_companies):
    from tests import sla_factories as sla

    with app.app_context():
        for text in FORMULAS:
            sla.ticket(company=text)
    resp = ops.get("/api/reports/sla?from=2024-03-01&to=2024-03-31&format=csv&table=contractors")
    assert resp.status_code == 200
    assert_csv_neutral(resp.data, FORMULAS)


# ---------------------------------------------------------------- exports no user text reaches


def test_a_discrepancy_export_keeps_a_negative_difference_a_number(app, ops):
    with app.app_context():
        plan = sf.plan(fee="20.00")
        a = sf.sim(plan)
        statement = sf.statement([sf.line(a.iccid, "15.00", data_kb=100)])  # billed 5.00 less than due
        from insurer_dms.sims import reconciliation

        reconciliation.reconcile(statement.id)
        statement_id = statement.id
    cells = assert_csv_neutral(ops.get(f"/api/statements/{statement_id}/discrepancies.csv").data, [])
    assert "-5.00" in cells
    xlsx = ops.get(f"/api/statements/{statement_id}/discrepancies.xlsx")
    numbers = [c for c in assert_xlsx_neutral(xlsx.data, []) if c.data_type == "n"]
    assert Decimal("-5") in [c.value for c in numbers]


def test_the_progress_download_has_no_formula_looking_cell(ops):
    resp = ops.get("/api/reports/progress?on=2021-06-01&format=csv")
    assert resp.status_code == 200
    assert_csv_neutral(resp.data, [])


# ---------------------------------------------------------------- Content-Disposition


HEADER = re.compile(r"attachment; filename=\"[ -!#-\[\]-~]*\"; filename\*=UTF-8''[A-Za-z0-9!#$&+\-.^_`|~%]+")


@pytest.mark.parametrize("name, fallback, decoded", [
    ("config-sheets-445102.csv", "config-sheets-445102.csv", "config-sheets-445102.csv"),
    ("配置单-潮州.csv", "download.csv", "配置单-潮州.csv"),
    ('a"; filename="evil.exe', "a filename=evil.exe", 'a"; filename="evil.exe'),
    ("line\r\nSet-Cookie: x=1.csv", "lineSet-Cookie: x=1.csv", "lineSet-Cookie: x=1.csv"),
    ("résumé\\..\\..\\report.pdf", "report.pdf", "report.pdf"),
    ("", "download", "download"),
])
def test_every_download_name_makes_one_safe_header(name, fallback, decoded):
    header = content_disposition(name)
    assert HEADER.fullmatch(header), header
    header.encode("latin-1")  # Werkzeug refuses anything else with a 500
    value, params = parse_options_header(header)
    assert value == "attachment" and params == {"filename": decoded}
    assert f'filename="{fallback}"' in header


@pytest.mark.parametrize("county", ["潮州湘桥区区", "4451\r\n", '44510"', "445102\"; x=y", "44510 ", "995102", "%00"])
def test_a_config_sheet_download_for_a_county_that_is_no_division_code_is_a_422(ops, county):
    resp = ops.get("/api/installations/config-sheets.csv", query_string={"county_code": county})
    assert resp.status_code == 422 and "county_code" in resp.json["errors"]
    assert ops.get("/api/installations/never-seen", query_string={"county_code": county}).status_code == 422


def test_a_config_sheet_download_for_a_county_names_the_file_after_it(ops, sheets_with_formulas):
    resp = ops.get("/api/installations/config-sheets.csv?county_code=445102")
    assert resp.status_code == 200 and HEADER.fullmatch(resp.headers["Content-Disposition"])
    assert parse_options_header(resp.headers["Content-Disposition"])[1] == {"filename": "config-sheets-445102.csv"}
    assert ops.get("/api/installations/config-sheets.csv?county_code=110101").status_code == 200  # Beijing: no rows


def test_an_attachment_with_a_hostile_name_downloads_with_a_safe_header(app, ops, reviewer):
    from tests import audit_query_factories as aq
    from tests.test_finding_queries import answer, raise_on, sample_pdf

    with app.app_context():
        finding = aq.published_finding()
        query_id = raise_on(reviewer, finding).json["id"]
    answered = answer(ops, query_id, file=(sample_pdf(), '说明"\r\n; x=y.pdf'))
    assert answered.status_code == 200
    download = reviewer.get(f"/api/queries/{query_id}/attachment")
    assert download.status_code == 200 and HEADER.fullmatch(download.headers["Content-Disposition"])
    name = answered.json["attachment"]["name"]
    assert name.startswith("说明") and parse_options_header(download.headers["Content-Disposition"])[1] == {"filename": name}
