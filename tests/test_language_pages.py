"""Every page of every role in Simplified Chinese, in Chromium, on a scene where every list has rows.

The page routes come from ``app.url_map`` (every GET route that is not the API or a static file), so a new page is
covered the day it is added: the test fails on a route it neither visits nor skips for a stated reason. Each page's
visible text (``innerText``, the ``title``/``placeholder``/``aria-label``/``alt`` attributes, ``<option>`` texts) must
hold no English word but the codes of ALLOWED and the scene's own data values (serials, plates, e-mails, file
names... taken from the database, not guessed). The CSV/XLSX downloads of those pages are read the same way.
On each page the top bar's entries and each table's header cells are distinct (two concepts, two words).
"""
import csv
import io
import re
from collections import defaultdict

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from insurer_dms.extensions import db

# Codes that read the same in Chinese text, and the two words of the top bar that are not meant to be translated.
ALLOWED = {"VIN", "ICCID", "IMEI", "MSISDN", "SIM", "CSV", "XLSX", "PDF", "API", "ID", "EXIF", "SLA", "KPI", "Excel",
           "ADAS", "DSM", "BSD",  # the tender's device functions, named so in Chinese specifications too
           "JT", "T",  # JT/T 808, JT/T 1078: the transport industry's standards
           "SHA",  # SHA-256, the checksum of a file
           "NCD",  # the no-claims discount coefficient, NCD系数 in Chinese insurance
           "MB", "KB", "kg",  # units
           "insurer_dms",  # the product's name in the top bar
           "English"}  # the language switch names the other language in that language
# Columns whose values are data (identifiers, names, files), never words of the interface.
DATA_COLUMNS = {"number", "supplier", "name", "tender_batch", "credit_code", "lot", "manufacturer", "model_code", "email",
                "plate", "vin", "iccid", "msisdn", "code", "serial", "terminal_id", "imei", "filename", "attachment_name",
                "scope", "period", "sha256", "inputs_sha256", "prefix", "contact_phone", "location", "object_key"}
# A file's name is the user's data wherever it is quoted (an import's history line, an upload), never a word to translate.
FILE_NAME = re.compile(r"[\w.-]+\.(?:csv|xlsx|xls|pdf|jpe?g|png)\b", re.I)
WORD = re.compile(r"[A-Za-z](?:[A-Za-z_]|['’](?=[A-Za-z]))*")
# Routes that are not pages, with the reason; everything else in the url map must be visited.
SKIPPED = {
    "web.healthz": "a machine's health check (JSON), not a page",
    "web.index": "redirects to the role's home page, visited as such",
    "web.favicon": "an icon, not a page (tests/test_progress_due.py fetches it)",
    "audits.download_file": "the frozen report files: the PDF's language is tested in test_audit_pdf.py",
    "api_docs.swagger_ui": "the API's documentation for integrators, in English on purpose",
}
ZH = "zh-CN"
DOWNLOAD_ENDPOINTS = ("_csv", "_xlsx", "_file")  # endpoints that answer a file, read as its cells
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}

VISIBLE_TEXT = """() => {
  const texts = [document.title, document.body.innerText];
  for (const el of document.querySelectorAll('[title], [placeholder], [aria-label], [alt]'))
    for (const name of ['title', 'placeholder', 'aria-label', 'alt'])
      if (el.getAttribute(name)) texts.push(el.getAttribute(name));
  for (const el of document.querySelectorAll('option')) texts.push(el.textContent);
  for (const el of document.querySelectorAll('input[type=submit], input[type=button]')) texts.push(el.value);
  return texts;
}"""
LABELS = """() => {
  const own = (el) => el.innerText.trim();
  const menu = [...document.querySelectorAll('header nav a, header nav .nav-label')].map(own);
  const tables = [...document.querySelectorAll('table')].map((table) =>
    [...table.querySelectorAll('thead th')].map(own));
  return {menu, tables};
}"""


def _scene(app):
    """The demo data set (loaded through the real import rules): every list has rows, every state is there."""
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load", "--trucks", "40"])
    assert result.exit_code == 0, result.output


def _file_columns():
    """The column names (the alias tables' keys) and values the import files accept in English: the import help
    texts name them."""
    from insurer_dms.catalogue.schemas import IMPORT_ALIASES
    from insurer_dms.fleet.policy_import import ALIASES as POLICY_ALIASES
    from insurer_dms.inventory.schemas import DEVICE_ROW_ALIASES
    from insurer_dms.maintenance.road_checks import ALIASES as ROAD_CHECK_ALIASES
    from insurer_dms.sims.schemas import PLAN_ALIASES, SIM_ALIASES
    from insurer_dms.sims.statement_file import ALIASES as STATEMENT_ALIASES

    from insurer_dms.sims.models import SIM_STATES

    tables = (IMPORT_ALIASES, POLICY_ALIASES, DEVICE_ROW_ALIASES, ROAD_CHECK_ALIASES, PLAN_ALIASES, SIM_ALIASES,
              STATEMENT_ALIASES)
    from insurer_dms.maintenance.road_checks import FINDINGS

    values = {"yes", "no", "Y", "N", *SIM_STATES, *FINDINGS}  # values files may hold: yes/no, a SIM's status, a finding
    return {name for table in tables for name in table} | values


def _data_words(app):
    """Every word inside a data value of the scene (DATA_COLUMNS of every table, the platform's host name)."""
    words = set(WORD.findall(app.config["PLATFORM_HOST"]))
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if c.name in DATA_COLUMNS]
        if columns:
            for row in db.session.execute(select(*columns)):
                for value in row:
                    if isinstance(value, str):
                        words.update(WORD.findall(value))
    return words


def _first(model, *where, order=None):
    return db.session.scalar(select(model.id).where(*where).order_by(order if order is not None else model.id).limit(1))


def _ids():
    """The id of one row of each detail page, picked from the scene; several where states differ."""
    from insurer_dms.audits.models import AuditFinding, AuditRun, FindingQuery
    from insurer_dms.auth.models import ContractorCompany, User
    from insurer_dms.catalogue.models import CatalogueEntry
    from insurer_dms.demo import CONTRACTORS
    from insurer_dms.fleet.models import Operator, Policy, Truck
    from insurer_dms.installs.models import Installation, OnlineStatusImport, WorkOrder
    from insurer_dms.inventory.models import Device, PurchaseOrder
    from insurer_dms.maintenance.models import RoadCheckImport, Ticket
    from insurer_dms.sims.models import DataPlan, Sim, Statement

    company = db.session.scalar(select(User.company_id).where(User.email == CONTRACTORS[0][0]))
    audit = _first(AuditRun, AuditRun.status == "published")
    installed_truck = db.session.scalar(select(Installation.truck_id).order_by(Installation.id).limit(1))
    ids = {
        "audit_id": [audit],
        "finding_id": [_first(AuditFinding, AuditFinding.audit_id == audit)],
        "entry_id": [_first(CatalogueEntry)],
        "plan_id": [_first(DataPlan)],
        "device_id": [db.session.scalar(select(Installation.device_id).order_by(Installation.id).limit(1)),
                      _first(Device, Device.status == "in_stock")],
        "import_id": [_first(OnlineStatusImport)],
        "operator_id": [_first(Operator)],
        "policy_id": [_first(Policy)],
        "po_id": [_first(PurchaseOrder)],
        "query_id": [_first(FindingQuery)],
        "sim_id": [_first(Sim)],
        "statement_id": [_first(Statement, Statement.status == "done")],
        "truck_id": [installed_truck],
        "order_id": sorted({_first(WorkOrder, WorkOrder.state == state)
                            for (state,) in db.session.execute(select(WorkOrder.state).distinct())}),
        "ticket_id": sorted({_first(Ticket, Ticket.state == state)
                             for (state,) in db.session.execute(select(Ticket.state).distinct())}),
        # the contractor's own
        "my_order_id": [_first(WorkOrder, WorkOrder.company_id == company, order=WorkOrder.state)],
        "my_ticket_id": [_first(Ticket, Ticket.company_id == company, order=Ticket.state)],
        "road_check_id": [_first(RoadCheckImport)],
    }
    assert all(all(v is not None for v in values) and values for values in ids.values()), ids
    del ContractorCompany, Truck
    return ids


# endpoint -> (role, the url values to visit it with); a value names a list of ids from _ids()
def _visits(app, ids):
    from insurer_dms.maintenance.reports import TABLES

    per_endpoint = {
        "installs.my_orders": ("contractor", [{}]),
        "installs.my_order": ("contractor", [{"order_id": i} for i in ids["my_order_id"]]),
        "maintenance.my_tickets": ("contractor", [{}]),
        "maintenance.my_ticket": ("contractor", [{"ticket_id": i} for i in ids["my_ticket_id"]]),
        "audits_reviewer.portal": ("reviewer", [{}]),
        "audits_reviewer.report": ("reviewer", [{"audit_id": ids["audit_id"][0]}]),
        "audits_reviewer.finding": ("reviewer", [{"audit_id": ids["audit_id"][0], "finding_id": ids["finding_id"][0]}]),
        "audits_reviewer.queries": ("reviewer", [{}]),
        "audits_reviewer.review_query": ("reviewer", [{"query_id": ids["query_id"][0]}]),
        "auth.login": (None, [{}]),
        "maintenance_road_checks.road_check_detail": ("ops", [{"import_id": i} for i in ids["road_check_id"]]),
        "maintenance_sla.sla_csv": ("ops", [{"table": t} for t in TABLES]),
        "installs.progress_file": ("ops", [{"fmt": "csv"}, {"fmt": "xlsx"}]),
    }
    visits = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.startswith(("/api", "/static")) or rule.endpoint == "static":
            continue
        if rule.endpoint in SKIPPED:
            continue
        if rule.endpoint in per_endpoint:
            role, values = per_endpoint[rule.endpoint]
        else:
            role = "ops"
            names = sorted(rule.arguments)
            assert all(name in ids for name in names), f"{rule.rule}: no scene id for {names}; add it to _ids() or SKIPPED"
            values = [{}]
            for name in names:
                values = [{**v, name: i} for v in values for i in ids[name]]
        for v in values:
            visits.append((role, rule.endpoint, v))
    # the home page of each role, and the refusal a contractor and a reviewer get on an operations page
    visits += [("contractor", "web.home", {}), ("reviewer", "web.home", {}),
               ("contractor", "fleet.list_trucks", {}), ("reviewer", "fleet.list_trucks", {})]
    return visits


def english_words(texts, allowed):
    """The English words in ``texts`` (a list of strings) that are neither ALLOWED nor data: {word: a text with it}."""
    found = {}
    for line in _lines(texts):
        for word in WORD.findall(FILE_NAME.sub(" ", line)):
            if word not in allowed and word.strip("_") not in allowed:
                found.setdefault(word, line[:160])
    return found


def _lines(texts):
    return {line.strip() for text in texts for line in (text or "").splitlines() if line.strip()}


def _download_texts(response):
    """The cells of a CSV or XLSX download."""
    body = response.body()
    if body[:2] == b"PK":
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        return [str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row
                if cell is not None]
    return [cell for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in row]


def _duplicates(labels):
    seen, twice = set(), set()
    for text in labels:
        if text:
            (twice if text in seen else seen).add(text)
    return twice


@pytest.fixture
def scene(app, live_server):
    with app.app_context():
        _scene(app)
        ids, allowed = _ids(), ALLOWED | _data_words(app) | _file_columns()
        db.session.remove()
    return ids, allowed


def test_every_page_of_every_role_speaks_chinese_with_distinct_labels(app, live_server, browser, scene):
    from insurer_dms.demo import CONTRACTORS, DEMO_PASSWORD, OPS_EMAIL, REVIEWER_EMAIL

    ids, allowed = scene
    with app.test_request_context():
        visits = _visits(app, ids)
        from flask import url_for

        urls = [(role, endpoint, url_for(endpoint, **values)) for role, endpoint, values in visits]
    covered = {endpoint for _role, endpoint, _url in urls}
    page_endpoints = {r.endpoint for r in app.url_map.iter_rules() if "GET" in r.methods
                      and not r.rule.startswith(("/api", "/static")) and r.endpoint != "static"}
    assert not page_endpoints - covered - set(SKIPPED), "pages neither visited nor skipped"

    logins = {"ops": (OPS_EMAIL, DESKTOP), "contractor": (CONTRACTORS[0][0], PHONE), "reviewer": (REVIEWER_EMAIL, DESKTOP),
              None: (None, DESKTOP)}
    english, shared_labels, strings, pages = defaultdict(dict), [], set(), 0
    for role, (email, device) in logins.items():
        context = browser.new_context(locale=ZH, **device)
        page = context.new_page()
        page.set_default_timeout(15000)
        if email:
            page.goto(live_server.url("/login"))
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("#login-submit")
            page.wait_for_url(lambda url: "/login" not in url)
        for _role, endpoint, url in (u for u in urls if u[0] == role):
            if endpoint.endswith(DOWNLOAD_ENDPOINTS):
                resp = page.request.get(live_server.url(url), headers={"Accept-Language": "zh-CN,zh;q=0.9"})  # as the browser asks
                assert resp.status == 200, (url, resp.status)
                texts = _download_texts(resp)
            else:
                resp = page.goto(live_server.url(url))
                assert resp.status in (200, 403), (role, url, resp.status)
                assert page.locator("html").get_attribute("lang") == ZH, url
                texts = page.evaluate(VISIBLE_TEXT)
                labels = page.evaluate(LABELS)
                for where, cells in [("menu", labels["menu"]), *((f"table {n + 1}", t) for n, t in enumerate(labels["tables"]))]:
                    if _duplicates(cells):
                        shared_labels.append((role, url, where, cells))
            pages += 1
            strings |= _lines(texts)
            for word, text in english_words(texts, allowed).items():
                english[word].setdefault(f"{role} {url}", text)
        context.close()

    print(f"\nlanguage pages: {pages} pages and downloads, {len(strings)} distinct strings, "
          f"{len(covered)} routes, {len(SKIPPED)} skipped")
    assert pages > 60 and len(strings) > 1000
    by_line = defaultdict(set)  # one line of text per offence, with its words and pages
    for word, where in english.items():
        for at, line in where.items():
            by_line[line].add(at)
    report = [f"{line!r} on {len(at)} page(s), e.g. {sorted(at)[0]}" for line, at in sorted(by_line.items())]
    shared = _shared_in_english(browser, live_server, logins, shared_labels)
    assert not report and not shared, ("English words on Chinese pages:\n" + "\n".join(report)
                                       + "\n\none Chinese label for two concepts:\n" + "\n".join(map(str, shared)))


def _shared_in_english(browser, live_server, logins, shared_labels):
    """Of the menus and tables with a label twice in Chinese, those whose English labels there differ."""
    wrong = []
    for role, url, where, zh_cells in shared_labels:
        email, device = logins[role]
        context = browser.new_context(locale="en-US", **device)
        page = context.new_page()
        if email:
            page.goto(live_server.url("/login"))
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", "demo-password")
            page.click("#login-submit")
            page.wait_for_url(lambda url: "/login" not in url)
        page.goto(live_server.url(url))
        labels = page.evaluate(LABELS)
        en_cells = labels["menu"] if where == "menu" else labels["tables"][int(where.split()[1]) - 1]
        for text in _duplicates(zh_cells):
            english = {en for zh, en in zip(zh_cells, en_cells) if zh == text}
            if len(english) > 1:
                wrong.append((role, url, where, text, sorted(english)))
        context.close()
    return wrong


# --- refusals: what a service answers a Chinese user with --------------------------------------------------

ZH_HEADERS = {"Accept-Language": "zh-CN,zh;q=0.9"}
BAD_FILES = {  # an import with a column missing and a bad value: the rows' messages name the columns as the file does
    "/api/policies/import": b"plate,policy_number\n\xe7\xb2\xa4U12345,PDAA-1\n",
    "/api/sims/import": b"msisdn,plan\n1440000000001,CM-1\n",
    "/api/data-plans/import": b"code,carrier,monthly_fee\nCM-1,nobody,ten\n",
    "/api/catalogue/import": b"tender_batch,lot\nGD-1,1\n",
    "/api/road-checks/import": b"date,plate,location,finding\nyesterday,\xe7\xb2\xa4U12345,,lost\n",
}


def _refusal_texts(body):
    texts = [body.get("message", "")]
    texts += [m for messages in (body.get("errors") or {}).values() for m in messages]
    texts += [f"{row.get('column') or ''} {row['message']}" for row in body.get("rows") or []]
    return texts


def test_refusals_of_imports_and_roles_are_in_chinese(app, ops, contractor, reviewer):
    found = {}
    for url, data in BAD_FILES.items():
        # what the file itself holds (its headers and values, quoted back) and its name; the date format's letters
        allowed = ALLOWED | _file_columns() | set(WORD.findall(data.decode())) | {"bad", "csv", "YYYY", "MM", "DD"}
        resp = ops.post(url, data={"file": (io.BytesIO(data), "bad.csv")}, content_type="multipart/form-data",
                        headers=ZH_HEADERS)
        assert resp.status_code == 422, (url, resp.json)
        texts = _refusal_texts(resp.json)
        assert len(texts) > 1, (url, resp.json)
        found.update({f"{url}: {word}": text for word, text in english_words(texts, allowed).items()})
    for client, url in ((contractor, "/api/trucks"), (reviewer, "/api/work-orders"), (reviewer, "/api/tickets")):
        resp = client.get(url, headers=ZH_HEADERS)
        assert resp.status_code == 403, url
        found.update({f"{url}: {word}": text for word, text in english_words(_refusal_texts(resp.json), ALLOWED).items()})
    assert not found, found
