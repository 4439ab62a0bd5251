"""The regulator's copy of a published audit: the report PDF in Chinese (and in English), its font guaranteed.

The PDFs are read back by text extraction (pypdf), as a reader copying from them would; publishing without a CJK
font is refused and leaves the audit a draft.
"""
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from insurer_dms.activity import history
from insurer_dms.audits.models import AuditFile, AuditRun
from insurer_dms.extensions import db
from tests.audit_factories import all_findings, published_audit, run_audit, seeded_history

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}


@pytest.fixture
def history_(ctx):
    return seeded_history()


def pdf_text(data):
    from pypdf import PdfReader

    # pypdf reads fpdf2's CID-keyed CFF font (Noto Sans CJK) code by code with NULs in between; poppler does not.
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).replace("\x00", "")


def pdf_fonts(data):
    """(BaseFont, its descriptor) of every font used on any page."""
    from pypdf import PdfReader

    fonts = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            described = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            fonts.append((str(font["/BaseFont"]), described.get("/FontDescriptor")))
    return fonts


def beijing(iso_moment, pattern):
    return dt.datetime.fromisoformat(iso_moment).astimezone(ZoneInfo("Asia/Shanghai")).strftime(pattern)


def download(client, audit_id, file_format, **kwargs):
    resp = client.get(f"/api/audits/{audit_id}/files/{file_format}", **kwargs)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return resp


# ---------------------------------------------------------------- what the regulator reads


def test_the_published_pdf_is_in_chinese_with_the_plates_the_headings_and_the_totals(ops, history_):
    audit = published_audit(ops, history_)
    pdf = download(ops, audit["id"], "pdf", headers=EN)  # the Chinese copy whatever the reader's language
    assert pdf.mimetype == "application/pdf"
    content = pdf_text(pdf.get_data())
    for heading in ("不因安装设备上调保费审计报告", "审计编号", "按区县统计", "按险种统计", "对照组比较", "审计发现（6 项）",
                    "金额单位：元。"):
        assert heading in content, heading
    for header in ("审计期间", "审计续保数", "审计发现数", "超额保费合计（元）", "发布时间（北京时间）", "输入数据的 SHA-256",
                   "区县代码", "车牌号码", "续保起期", "设备安装时间", "上年保费", "续保保费", "自主系数部分",
                   "超额保费", "原因"):
        assert header in content, header
    # labels, not codes; amounts with thousands separators; dates and times as Chinese readers write them
    for shown in ("湘桥区", "潮安区", "饶平县", "商业险", "交强险", "自主定价系数上调", "未解释差额超出容差",
                  "其中：自主定价系数上调", "3,622.00", "1,334.00", "2,120.00", "3,454.00", "1,500.00", "1,664.60",
                  "0.0278", "0.0200", "0.0078", "2025年7月1日至2025年9月30日", audit["inputs_sha256"]):
        assert shown in content, shown
    published = dt.datetime.fromisoformat(audit["published_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"{published.year}年{published.month}月{published.day}日 {published:%H:%M}" in content
    plates = [f["plate"] for f in all_findings(ops, audit["id"])]
    assert len(plates) == 6 and all(plate.startswith("粤U") and plate in content for plate in plates)
    assert "?U" not in content and "No-premium-increase" not in content and "commercial" not in content


def test_the_english_pdf_has_english_headings_and_the_same_figures(ops, history_):
    audit = published_audit(ops, history_)
    pdf = download(ops, audit["id"], "pdf_en", headers=ZH)
    assert pdf.mimetype == "application/pdf"
    assert "no-premium-increase-audit-" in pdf.headers["Content-Disposition"]
    assert pdf.headers["Content-Disposition"].endswith(f"-v{audit['version']}.en.pdf")
    content = pdf_text(pdf.get_data())
    for expected in ("No-premium-increase audit report", "By county", "By product", "Cohort comparison",
                     "Findings (6)", "Renewals audited", "Excess premium total (CNY)", "Published (Beijing time)",
                     "Xiangqiao (incl. Fengxi)", "Raoping", "Commercial", "Compulsory", "Autonomous coefficient rose",
                     "3,622.00", "1,334.00", "0.0078", "2025-07-01 to 2025-09-30",
                     beijing(audit["published_at"], "%Y-%m-%d %H:%M"), audit["inputs_sha256"]):
        assert expected in content, expected
    assert all(f["plate"] in content for f in all_findings(ops, audit["id"]))  # plates keep their 粤
    assert "按区县统计" not in content and "审计发现" not in content


def test_both_pdfs_embed_a_subset_of_the_cjk_font_and_never_a_core_font(ops, history_):
    audit = published_audit(ops, history_)
    for file_format in ("pdf", "pdf_en"):
        data = download(ops, audit["id"], file_format).get_data()
        fonts = pdf_fonts(data)
        assert fonts, file_format
        for base_font, descriptor in fonts:
            assert re.fullmatch(r"/[A-Z]{6}\+NotoSansCJKSC.*", base_font), base_font  # a subset's tag
            descriptor = descriptor.get_object()
            assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), base_font
        assert len(data) < 200_000  # the glyphs used, not the 16 MB face


def test_the_published_files_are_recorded_with_their_sha256(ops, history_, app):
    import hashlib

    audit = published_audit(ops, history_)
    assert sorted(f["format"] for f in audit["files"]) == ["csv", "pdf", "pdf_en", "xlsx"]
    with app.app_context():
        keys = dict(db.session.execute(select(AuditFile.format, AuditFile.object_key)
                                       .where(AuditFile.audit_id == audit["id"])).all())
    assert keys["pdf"] == f"audits/{audit['id']}/report-v1.pdf"
    assert keys["pdf_en"] == f"audits/{audit['id']}/report-v1.en.pdf"
    for stored in audit["files"]:
        body = download(ops, audit["id"], stored["format"]).get_data()
        assert hashlib.sha256(body).hexdigest() == stored["sha256"]


def test_an_audit_with_nothing_found_publishes_a_pdf_that_says_so(ops, history_):
    audit = ops.post("/api/audits", json={"period_from": "2020-01-01", "period_to": "2020-03-31"}).json
    assert ops.post(f"/api/audits/{audit['id']}/publish").status_code == 200
    content = pdf_text(download(ops, audit["id"], "pdf").get_data())
    assert "审计发现（0 项）" in content and "没有审计发现" in content and "2020年1月1日至2020年3月31日" in content
    assert "Findings (0)" in pdf_text(download(ops, audit["id"], "pdf_en").get_data())


# ---------------------------------------------------------------- no font, no publishing


def stored_files(app, audit_id):
    """What object storage holds under the run's file names (ids are reused from test to test, so compare)."""
    from insurer_dms.storage import storage

    with app.app_context():
        keys = [f"audits/{audit_id}/report-v1.{suffix}" for suffix in ("csv", "xlsx", "pdf", "en.pdf")]
        return {key: storage().get(key) for key in keys if storage().exists(key)}


def assert_still_a_draft(ops, app, audit_id, objects_before):
    audit = ops.get(f"/api/audits/{audit_id}").json
    assert (audit["status"], audit["files"], audit["published_at"]) == ("draft", [], None)
    with app.app_context():
        assert [h.action for h in history("audit_run", audit_id)] == ["create", "state:queued->draft"]
    assert stored_files(app, audit_id) == objects_before  # nothing stored
    assert ops.get(f"/api/audits/{audit_id}/files/pdf").status_code == 404


def test_publishing_without_a_cjk_font_is_refused_and_the_audit_stays_a_draft(ops, history_, app, monkeypatch):
    audit_id = run_audit(ops, history_)["id"]
    before = stored_files(app, audit_id)
    monkeypatch.setitem(app.config, "PDF_CJK_FONT", "/nowhere/NotoSansCJK-Regular.ttc")
    resp = ops.post(f"/api/audits/{audit_id}/publish", headers=ZH)
    assert resp.status_code == 409
    assert resp.json["code"] == 409 and resp.json["message"].startswith("生成审计报告 PDF 需要中文（CJK）字体")
    assert "/nowhere/NotoSansCJK-Regular.ttc" in resp.json["message"] and "审计仍为草稿" in resp.json["message"]
    english = ops.post(f"/api/audits/{audit_id}/publish", headers=EN)
    assert english.status_code == 409 and "needs a Chinese (CJK) font" in english.json["message"]
    assert_still_a_draft(ops, app, audit_id, before)

    monkeypatch.undo()  # the font installed: the same draft publishes
    assert ops.post(f"/api/audits/{audit_id}/publish").status_code == 200


def latin_only_font(path):
    """A real TrueType font that maps the letter A only (no Chinese)."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    pen = TTGlyphPen(None)
    pen.moveTo((0, 0)), pen.lineTo((250, 700)), pen.lineTo((500, 0)), pen.closePath()
    glyph = pen.glyph()
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", "A"])
    builder.setupCharacterMap({ord("A"): "A"})
    builder.setupGlyf({".notdef": glyph, "A": glyph})
    builder.setupHorizontalMetrics({".notdef": (500, 0), "A": (500, 0)})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": "Latin Only", "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    builder.save(str(path))
    return path


def not_a_font(path):
    path.write_bytes(b"ttcf but no font collection follows")
    return path


@pytest.mark.parametrize("make", [lambda tmp: latin_only_font(tmp / "latin.ttf"),
                                  lambda tmp: not_a_font(tmp / "junk.ttc")],
                         ids=["a font without Chinese", "a file that is no font"])
def test_a_font_that_cannot_print_chinese_is_refused_as_no_font(ops, history_, app, monkeypatch, tmp_path, make):
    audit_id = run_audit(ops, history_)["id"]
    before = stored_files(app, audit_id)
    monkeypatch.setitem(app.config, "PDF_CJK_FONT", str(make(tmp_path)))
    resp = ops.post(f"/api/audits/{audit_id}/publish", headers=ZH)
    assert resp.status_code == 409 and "中文（CJK）字体" in resp.json["message"]
    assert_still_a_draft(ops, app, audit_id, before)


def test_the_publish_button_says_why_when_there_is_no_font(ops, history_, app, monkeypatch):
    audit_id = run_audit(ops, history_)["id"]
    before = stored_files(app, audit_id)
    monkeypatch.setitem(app.config, "PDF_CJK_FONT", "/nowhere/font.ttc")
    resp = ops.post(f"/audits/{audit_id}/publish", headers=ZH)
    assert resp.status_code == 409
    assert "生成审计报告 PDF 需要中文（CJK）字体" in resp.get_data(as_text=True)
    assert_still_a_draft(ops, app, audit_id, before)


def test_a_character_the_font_lacks_is_refused_rather_than_printed_as_a_box(ops, history_, app):
    from insurer_dms.audits import report, report_pdf, service

    audit_id = run_audit(ops, history_)["id"]
    with app.test_request_context(headers=EN):
        run = db.session.get(AuditRun, audit_id)
        content = report.content(run, db.session.scalars(service.findings_query(audit_id)).all())
        content["findings"][0]["plate"] = "粤U12345\U0001F69A"  # a truck emoji: not in Noto Sans CJK
        with pytest.raises(report_pdf.FontUnavailable) as refused:
            report_pdf.render_pdf(content, "zh_CN")
        assert "\U0001F69A" in refused.value.message and "nothing was published" in refused.value.message


# ---------------------------------------------------------------- who downloads which


def test_the_reviewer_downloads_both_pdfs_of_a_published_audit_and_nothing_of_a_draft(ops, reviewer, contractor, anon,
                                                                                    history_):
    published = published_audit(ops, history_)
    draft = run_audit(ops, history_)
    shas = {f["format"]: f["sha256"] for f in published["files"]}
    for file_format in ("pdf", "pdf_en"):
        resp = download(reviewer, published["id"], file_format)
        assert resp.mimetype == "application/pdf" and resp.headers["X-Content-SHA256"] == shas[file_format]
        assert "粤U" in pdf_text(resp.get_data())
        assert reviewer.get(f"/api/audits/{draft['id']}/files/{file_format}").status_code == 404  # a draft: unknown
        assert ops.get(f"/api/audits/{draft['id']}/files/{file_format}").status_code == 404  # a draft has no files
        assert contractor.get(f"/api/audits/{published['id']}/files/{file_format}").status_code == 403
        assert anon.get(f"/api/audits/{published['id']}/files/{file_format}").status_code == 401
    assert reviewer.get(f"/api/audits/{published['id']}/files/pdf_de").status_code == 404


def test_the_report_pages_link_the_chinese_and_the_english_pdf(ops, reviewer, history_):
    audit = published_audit(ops, history_)
    for client, page_url in ((reviewer, f"/review/audits/{audit['id']}"), (ops, f"/audits/{audit['id']}")):
        html = client.get(page_url, headers=ZH).get_data(as_text=True)
        assert "PDF（中文）" in html and "PDF（英文）" in html
        assert re.search(r'href="[^"]*/files/pdf"[^>]*id="download-pdf"', html), page_url
        assert re.search(r'href="[^"]*/files/pdf_en"[^>]*id="download-pdf_en"', html), page_url
    html = reviewer.get(f"/review/audits/{audit['id']}", headers=EN).get_data(as_text=True)
    assert "PDF (Chinese)" in html and "PDF (English)" in html
