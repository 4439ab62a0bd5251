"""Files are bounded before they are parsed: an XLSX bomb (a few hundred KB inflating to a million rows) is refused
from its zip directory on every import kind, API and pages, without openpyxl ever opening it; a file over the row
limit is refused while it is read, naming the limit; forged sheets (lying sizes, rows beyond what XLSX holds, a row
of 16,384 cells) cannot run away; oversize drop-folder statements are never read; and the app answers afterwards.

The bomb is built here with zipfile (identical rows without row numbers, which OOXML allows, deflated at level 9),
never committed.
"""
import io
import re
import struct
import zipfile

import pytest

from insurer_dms.extensions import db
from insurer_dms.imports import Limits, xlsx_rows
from tests import audit_query_factories as aq
from tests import install_factories as inst
from tests.factories import HEADERS_EN, catalogue_rows, make_po, upload
from tests.factories import csv_bytes as raw_csv

NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
RELS_NS = 'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"'
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>")
PARTS = {
    "[Content_Types].xml": CONTENT_TYPES,
    "_rels/.rels": f'<Relationships {RELS_NS}><Relationship Id="rId1" Type="{DOC_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'<workbook {NS} xmlns:r="{DOC_REL}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": f'<Relationships {RELS_NS}><Relationship Id="rId1" Type="{DOC_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
}
SHEET = "xl/worksheets/sheet1.xml"
# The bomb's 118 MB is over the imports' 100 MB, so they say that; a statement (256 MB) names the ratio.
DIRECTORY_REFUSAL = re.compile(r"unpacks to 118 MB; at most 100 MB|compressed 2\d\d to 1 \(xl/worksheets/sheet1.xml\); at most 100 to 1")
# 125 bytes, the same row a million times (a row without r= is the next row)
BOMB_ROW = b'<row><c t="inlineStr"><is><t>PDAA2024445102000001</t></is></c><c t="inlineStr"><is><t>x</t></is></c><c><v>9180</v></c></row>'


def workbook(chunks, head=""):
    """XLSX bytes whose first sheet's <sheetData> is the byte ``chunks`` (streamed into the zip, level 9)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as book:
        for name, text in PARTS.items():
            book.writestr(name, text)
        with book.open(SHEET, "w") as sheet:
            sheet.write(f"<worksheet {NS}>{head}<sheetData>".encode())
            for chunk in chunks:
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def header_row(*names):
    cells = "".join(f'<c t="inlineStr"><is><t>{n}</t></is></c>' for n in names)
    return f'<row r="1">{cells}</row>'.encode()


@pytest.fixture(scope="session")
def bomb():
    """A million rows: about 125 MB of sheet XML in about 430 KB."""
    block = BOMB_ROW * 10_000
    data = workbook([header_row("保单号", "车牌号码", "保费"), *[block] * 100])
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        sheet = book.getinfo(SHEET)
    assert len(data) < 600_000 and sheet.file_size > 120_000_000
    return data


def lying(data, declared=40_000):
    """``data`` with its central directory claiming the sheet inflates to ``declared`` bytes only."""
    raw = bytearray(data)
    at = raw.rfind(b"PK\x01\x02", 0, raw.rfind(SHEET.encode()))
    struct.pack_into("<I", raw, at + 24, declared)
    return bytes(raw)


@pytest.fixture
def never_opened(monkeypatch):
    """Fails the test if openpyxl is asked to open a workbook."""
    opened = []
    import openpyxl

    def spy(*args, **kwargs):
        opened.append(args)
        raise AssertionError("openpyxl opened a workbook that should have been refused from its directory")

    monkeypatch.setattr(openpyxl, "load_workbook", spy)
    return opened


@pytest.fixture
def po_id(app):
    with app.app_context():
        return make_po(quantity=5).id


# Every import kind and its API endpoint ({po}: a purchase order's id).
API_IMPORTS = {
    "catalogue": "/api/catalogue/import",
    "policies": "/api/policies/import",
    "sims": "/api/sims/import",
    "data_plans": "/api/data-plans/import",
    "online_status": "/api/online-status/imports",
    "road_checks": "/api/road-checks/import",
    "device_receipts": "/api/purchase-orders/{po}/receipts/import",
    "statements": "/api/statements",
}
PAGE_IMPORTS = {
    "catalogue": "/catalogue/import",
    "policies": "/policies/import",
    "sims": "/sims/import",
    "data_plans": "/data-plans/import",
    "online_status": "/online-status",
    "road_checks": "/road-checks",
    "device_receipts": "/purchase-orders/{po}",
    "statements": "/statements/upload",
}


def still_answering(ops):
    assert ops.get("/api/me").status_code == 200
    assert ops.get("/api/catalogue").status_code == 200


def message_of(resp):
    body = resp.json
    return " ".join([body["message"], *[m for msgs in body.get("errors", {}).values() for m in msgs]])


@pytest.mark.parametrize("kind", API_IMPORTS)
def test_an_xlsx_bomb_is_refused_from_its_directory_on_every_api_import(ops, po_id, bomb, never_opened, kind):
    resp = upload(ops, API_IMPORTS[kind].format(po=po_id), bomb, "bomb.xlsx")
    assert resp.status_code == 422, resp.json
    assert DIRECTORY_REFUSAL.search(message_of(resp)), message_of(resp)
    assert never_opened == []
    still_answering(ops)


@pytest.fixture
def ops_session(app, ops):
    from insurer_dms.auth.service import create_user

    with app.app_context():
        create_user("ops-page@example.com", "ops", "password123")
    return aq.session_client(app, "ops-page@example.com")


@pytest.mark.parametrize("kind", PAGE_IMPORTS)
def test_an_xlsx_bomb_is_refused_on_every_import_page(ops, ops_session, po_id, bomb, never_opened, kind):
    resp = ops_session.post(PAGE_IMPORTS[kind].format(po=po_id), content_type="multipart/form-data",
                            data={"file": (io.BytesIO(bomb), "bomb.xlsx"), "csrf_token": ops_session.csrf})
    assert resp.status_code == 422
    assert DIRECTORY_REFUSAL.search(resp.get_data(as_text=True))
    assert never_opened == []
    still_answering(ops)


def test_a_sheet_packed_tighter_than_a_hundred_to_one_is_refused_from_its_directory(ops, never_opened):
    data = workbook([header_row("model_code"), BOMB_ROW * 100_000])  # 12 MB of XML, under the size limit
    resp = upload(ops, "/api/catalogue/import", data, "packed.xlsx")
    assert resp.status_code == 422
    assert re.fullmatch(r"The XLSX workbook is compressed \d{3} to 1 \(xl/worksheets/sheet1.xml\); at most 100 to 1 is "
                        r"read, as no real sheet packs that tightly.", resp.json["message"])


def test_a_workbook_that_unpacks_beyond_the_limit_is_refused_by_its_declared_size(app, ops, monkeypatch, never_opened):
    monkeypatch.setitem(app.config, "IMPORT_XLSX_MAX_BYTES", 1 << 20)
    rows = b"".join(f'<row><c t="inlineStr"><is><t>M-{n:07d}</t></is></c></row>'.encode() for n in range(40_000))
    resp = upload(ops, "/api/catalogue/import", workbook([header_row("model_code"), rows]), "big.xlsx")
    assert resp.status_code == 422
    assert "unpacks to 2 MB; at most 1 MB" in message_of(resp)


def test_a_directory_that_lies_about_the_sheet_size_still_ends_in_a_422(ops, bomb):
    resp = upload(ops, "/api/policies/import", lying(bomb), "bomb.xlsx")
    assert resp.status_code == 422
    assert resp.json["message"] == "The XLSX workbook cannot be opened."
    still_answering(ops)


def test_a_sheet_whose_rows_go_beyond_what_xlsx_holds_stops_at_the_limit(ops):
    far = b'<row r="1"><c r="A1" t="inlineStr"><is><t>model_code</t></is></c></row><row r="4000000000"><c><v>1</v></c></row>'
    resp = upload(ops, "/api/catalogue/import", workbook([far]), "far.xlsx")
    assert resp.status_code == 422 and "more than 100,000 rows after its header" in message_of(resp)


def test_a_sheet_declaring_the_whole_grid_is_read_as_wide_as_its_cells(app, ops):
    """A <dimension> of A1:XFD1048576 would make openpyxl pad every row to 16,384 cells; the rows are read as they are."""
    rows = catalogue_rows(2)
    cells = lambda values: "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in values)  # noqa: E731
    styled = '<c r="Z{n}" s="0"/>'  # an empty cell past the header's last column: not a column of the row
    sheet = "".join(f"<row r=\"{n}\">{cells(r)}{styled.format(n=n) if n > 1 else ''}</row>"
                    for n, r in enumerate([HEADERS_EN, *rows], start=1)).encode()
    data = workbook([sheet], head='<dimension ref="A1:XFD1048576"/>')
    assert [len(row) for row in xlsx_rows(data, Limits(rows=10, xlsx_bytes=1 << 20, ratio=100))] == [len(HEADERS_EN)] * 3
    resp = upload(ops, "/api/catalogue/import", data, "grid.xlsx")
    assert resp.status_code == 201, resp.json


def test_a_row_of_sixteen_thousand_cells_is_refused(ops):
    wide = b'<row r="1"><c r="A1" t="inlineStr"><is><t>model_code</t></is></c><c r="XFD1"><v>1</v></c></row>'
    resp = upload(ops, "/api/catalogue/import", workbook([wide]), "wide.xlsx")
    assert resp.status_code == 422 and "more than 256 cells" in message_of(resp)
    many = "model_code," + ",".join(["x"] * 300) + "\n"
    resp = upload(ops, "/api/catalogue/import", many.encode(), "wide.csv")
    assert resp.status_code == 422 and "more than 256 cells" in message_of(resp)


# ---------------------------------------------------------------- the row limit


@pytest.mark.parametrize("kind", [k for k in API_IMPORTS if k != "statements"])
def test_a_csv_over_the_row_limit_is_refused_while_it_is_read(app, ops, po_id, monkeypatch, kind):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 5)
    data = raw_csv(["col"], [[f"x{n}"] for n in range(6)])
    resp = upload(ops, API_IMPORTS[kind].format(po=po_id), data, "rows.csv")
    assert resp.status_code == 422
    assert "more than 5 rows after its header" in message_of(resp)
    still_answering(ops)


@pytest.mark.parametrize("kind", [k for k in API_IMPORTS if k != "statements"])
def test_an_xlsx_over_the_row_limit_is_refused_while_it_is_read(app, ops, po_id, monkeypatch, kind):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 5)
    rows = b"".join(f'<row><c t="inlineStr"><is><t>x{n}</t></is></c></row>'.encode() for n in range(6))
    resp = upload(ops, API_IMPORTS[kind].format(po=po_id), workbook([header_row("col"), rows]), "rows.xlsx")
    assert resp.status_code == 422
    assert "more than 5 rows after its header" in message_of(resp)


def test_the_row_limit_is_the_header_and_that_many_rows_blank_or_not(app, ops, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 5)
    rows = catalogue_rows(6)
    blank = [[""] * len(HEADERS_EN)]
    assert upload(ops, "/api/catalogue/import", raw_csv(HEADERS_EN, rows[:4] + blank), "five.csv").status_code == 201
    resp = upload(ops, "/api/catalogue/import", raw_csv(HEADERS_EN, rows[:5] + blank), "six.csv")
    assert resp.status_code == 422
    assert resp.json["message"] == ("The file has more than 5 rows after its header; at most 5 are read from one file. "
                                    "Split it into smaller files.")


def test_an_xlsx_statement_over_its_own_row_limit_is_refused(app, ops, monkeypatch):
    monkeypatch.setitem(app.config, "STATEMENT_XLSX_MAX_ROWS", 3)
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 100)  # the statement's limit is its own
    head = header_row("ICCID", "账期", "使用流量(KB)", "套餐费(元)", "超套费(元)", "合计(元)")
    rows = b"".join(
        f'<row><c t="inlineStr"><is><t>{inst.iccid()}</t></is></c><c t="inlineStr"><is><t>2026-09</t></is></c>'
        f'<c><v>0</v></c><c><v>10</v></c><c><v>0</v></c><c><v>10</v></c></row>'.encode() for _ in range(4))
    resp = upload(ops, "/api/statements", workbook([head, rows]), "statement.xlsx")
    assert resp.status_code == 422
    assert "more than 3 rows after its header" in message_of(resp)


def test_an_unclosed_quote_that_swallows_the_file_is_a_422_not_a_500(ops):
    data = b'model_code,manufacturer\n"M-1,' + b"x" * 200_000 + b"\n"
    resp = upload(ops, "/api/catalogue/import", data, "quote.csv")
    assert resp.status_code == 422 and resp.json["message"] == "The file is not a readable CSV file."


# ---------------------------------------------------------------- the statements' drop folder


def test_dropped_statements_bomb_and_oversize_are_refused_and_the_rest_still_ingested(app, ops, monkeypatch, bomb):
    from insurer_dms.activity import Activity
    from insurer_dms.sims.models import Statement
    from insurer_dms.sims.statements import pick_up_dropped
    from insurer_dms.storage import storage

    keys = {"bomb": "statements/china_mobile/2026-08.xlsx", "big": "statements/china_unicom/2026-08.csv",
            "good": "statements/china_mobile/2026-07.csv"}
    with app.app_context():
        store = storage()
        store.put(keys["bomb"], bomb)
        store.put(keys["big"], b"ICCID,x\n" + b"1,2\n" * 300_000)
        good = f"ICCID,账期,使用流量(KB),套餐费(元),超套费(元),合计(元)\n{inst.iccid()},2026-07,0,10.00,0.00,10.00\n"
        store.put(keys["good"], good.encode())
        monkeypatch.setitem(app.config, "STATEMENT_MAX_BYTES", 1 << 20)  # the bomb is under it, the CSV over
        read = []
        original_get = type(store).get
        monkeypatch.setattr(type(store), "get", lambda self, key: read.append(key) or original_get(self, key))
        try:
            result = pick_up_dropped()
            assert {keys["bomb"], keys["big"]} <= set(result["failed"])
            ingested = [db.session.get(Statement, i) for i in result["ingested"]]
            assert ("china_mobile", "2026-07") in [(s.carrier, s.period) for s in ingested]
            assert keys["big"] not in read  # never read: only its size was asked
            messages = {a.entity_id: a.after["message"] for a in db.session.query(Activity).filter_by(action="pickup_failed")}
            assert "compressed" in messages[keys["bomb"]]
            assert messages[keys["big"]] == "The file is 1.1 MB; a statement of at most 1 MB is read."
            again = pick_up_dropped()  # recorded once, then skipped until the content changes
            assert not {keys["bomb"], keys["big"]} & set(again["failed"]) and again["ingested"] == []
        finally:
            for key in keys.values():
                store.delete(key)
    still_answering(ops)


# ---------------------------------------------------------------- photos


def png_declaring(width, height):
    """A PNG whose header declares ``width`` x ``height`` pixels (and holds none)."""
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def test_a_photo_declaring_ten_billion_pixels_is_refused_not_a_500(app, contractor):
    from tests.test_evidence_api import upload as upload_photo

    with app.app_context():
        order = inst.assigned_order("Alpha Installations")
        order_id = order.id
    resp = upload_photo(app, contractor, order_id, "plate", png_declaring(100_000, 100_000), "image/png")
    assert resp.status_code == 422 and "pixels" in resp.json["errors"]["size"][0]


def test_a_chinese_user_is_told_in_chinese(app, ops, bomb):
    from insurer_dms.auth.models import User

    with app.app_context():
        db.session.get(User, ops.user).locale = "zh_CN"
        db.session.commit()
    resp = upload(ops, "/api/policies/import", bomb, "保单.xlsx")
    assert resp.status_code == 422
    assert resp.json["message"] == "该XLSX工作簿解压后为 118 MB；单个文件最多读取 100 MB。"


def test_a_sheet_with_an_entity_expansion_is_refused(ops):
    """openpyxl parses through defusedxml (pinned in requirements.txt): a DTD's entities are refused, not expanded."""
    laughs = ('<!DOCTYPE worksheet [<!ENTITY a "hahahahahahahahahaha">'
              + "".join(f'<!ENTITY {b} "{("&" + a + ";") * 10}">' for a, b in zip("abcdefgh", "bcdefghi")) + "]>")
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w", zipfile.ZIP_DEFLATED) as book:
        for name, text in PARTS.items():
            book.writestr(name, text)
        book.writestr(SHEET, f'<?xml version="1.0"?>{laughs}<worksheet {NS}><sheetData><row><c t="inlineStr"><is><t>&i;</t>'
                             "</is></c></row></sheetData></worksheet>")
    resp = upload(ops, "/api/catalogue/import", data.getvalue(), "laughs.xlsx")
    assert resp.status_code == 422 and resp.json["message"] == "The XLSX workbook cannot be opened."
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML  # what refused it: defusedxml's EntitiesForbidden, under openpyxl's ValueError
    still_answering(ops)
