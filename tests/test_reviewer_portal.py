"""The regulator's reviewer portal: landing after login, published reports with their figures and files, findings
with the policy figures behind them, queries raised, answered and closed through the pages; in Chromium in English
and Chinese."""
import io
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from insurer_dms.audits.models import FindingQuery
from insurer_dms.extensions import db
from insurer_dms.ledger.models import LedgerEntry
from tests import audit_query_factories as aq
from tests.test_finding_queries import sample_pdf

REVIEWER_EMAIL, OPS_EMAIL = "reviewer@nfra.example.com", "ops@example.com"


@pytest.fixture
def reviewer_pages(app, reviewer):
    return aq.session_client(app, REVIEWER_EMAIL)


@pytest.fixture
def ops_pages(app, ops):
    return aq.session_client(app, OPS_EMAIL)


def text(resp):
    return resp.get_data(as_text=True)


def row(html, element_id):
    """The text of one table row, tags stripped and spaces squeezed."""
    found = re.search(rf'<tr id="{element_id}">(.*?)</tr>', html, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", found).split())


# ---- landing and reports -------------------------------------------------------------------------------------


def test_a_reviewer_lands_on_the_portal_after_logging_in(app, reviewer_pages):
    home = reviewer_pages.get("/home")
    assert home.status_code == 302 and home.headers["Location"].endswith("/review")
    page = reviewer_pages.get("/review")
    assert page.status_code == 200
    assert "Premium audit reports" in text(page)


def test_the_portal_lists_published_reports_and_never_drafts(reviewer_pages, ctx):
    published = aq.audit_run(findings=2)
    draft = aq.audit_run(findings=1, publish=False)

    html = text(reviewer_pages.get("/review"))

    assert f'id="report-{published.id}"' in html
    assert f'id="report-{draft.id}"' not in html
    listed = row(html, f"report-{published.id}")
    assert listed.startswith("2024-07-01 – 2024-09-30 All counties 1 ")  # period, counties, version
    assert listed.endswith(" 5 2 1836.00")  # renewals audited, findings, excess premium


def test_a_draft_report_and_its_findings_are_not_found_for_a_reviewer(reviewer_pages, reviewer, ctx):
    draft = aq.draft_finding()
    for url in (f"/review/audits/{draft.audit_id}", f"/review/audits/{draft.audit_id}/findings/{draft.id}"):
        assert reviewer_pages.get(url).status_code == 404
    resp = reviewer_pages.post(f"/review/audits/{draft.audit_id}/findings/{draft.id}/queries",
                               data={"question": "Why?", "csrf_token": reviewer_pages.csrf})
    assert resp.status_code == 404
    for url in (f"/api/audits/{draft.audit_id}", f"/api/audits/{draft.audit_id}/findings", f"/api/audits/{draft.audit_id}/findings/{draft.id}",
                f"/api/audits/{draft.audit_id}/files/csv"):
        assert reviewer.get(url).status_code == 404, url
    assert draft.audit_id not in [a["id"] for a in reviewer.get("/api/audits").json["items"]]


def test_the_report_page_shows_the_summary_the_cohort_comparison_the_files_and_the_findings(reviewer_pages, ctx):
    audit = aq.audit_run(findings=2)
    first = audit.findings[0]

    html = text(reviewer_pages.get(f"/review/audits/{audit.id}"))

    assert re.search(r'id="excess-total">1836.00<', html)
    assert re.search(r'id="renewals-audited">5<', html)
    assert row(html, "cohort-with_device") == "With a device 5 2 0.0400"
    assert row(html, "cohort-without_device") == "Without a device 10 0 0.0000"
    assert row(html, "cohort-difference") == "Difference (with minus without) 0.0400"
    assert "1836.00" in re.search(r'id="by-county">(.*?)</table>', html, re.S).group(1)
    assert row(html, "file-csv").startswith(f"CSV {len(aq.REPORT_CSV)} {audit.files[0].sha256} Download")
    assert f'href="/api/audits/{audit.id}/files/csv"' in html
    assert row(html, f"finding-{first.id}") == (
        f"{first.truck.plate} 445102 Xiangqiao (incl. Fengxi) Commercial 2024-08-01 9180.00 10098.00 918.00 918.00 0.00 918.00 "
        "Autonomous coefficient rose"
    )


def test_a_finding_shows_the_policy_figures_behind_it(reviewer_pages, ctx):
    finding = aq.published_finding()

    html = text(reviewer_pages.get(f"/review/audits/{finding.audit_id}/findings/{finding.id}"))

    table = " ".join(re.sub(r"<[^>]+>", " ", re.search(r'id="policy-figures">(.*?)</table>', html, re.S).group(1)).split())
    assert "Premium (CNY) 9180.00 10098.00" in table
    assert "Benchmark premium (CNY) 10800.00 10800.00" in table
    assert "NCD coefficient 0.8500 0.8500" in table
    assert "Traffic-violation coefficient 1.0000 1.0000" in table
    assert "Autonomous pricing coefficient 1.0000 1.1000" in table
    parts = " ".join(re.sub(r"<[^>]+>", " ", re.search(r'id="decomposition">(.*?)</table>', html, re.S).group(1)).split())
    assert parts == ("Benchmark premium (cover) 0.00 NCD coefficient (claims record) 0.00 Traffic-violation coefficient 0.00 "
                     "Autonomous pricing coefficient 918.00 Unexplained residual 0.00 Change in premium (CNY) 918.00 "
                     "Excess premium (CNY) 918.00")
    assert 'id="raise-form"' in html


def test_a_reviewer_downloads_a_report_file_with_the_page_session(reviewer_pages, ctx):
    audit = aq.audit_run(findings=1)
    resp = reviewer_pages.get(f"/api/audits/{audit.id}/files/csv")
    assert resp.status_code == 200
    assert resp.data == aq.REPORT_CSV
    assert resp.headers["X-Content-SHA256"] == audit.files[0].sha256


# ---- a query through the pages -------------------------------------------------------------------------------


def test_a_query_is_raised_answered_with_an_attachment_and_upheld_through_the_pages(reviewer_pages, ops_pages, ctx):
    finding = aq.published_finding()
    raised = reviewer_pages.post(f"/review/audits/{finding.audit_id}/findings/{finding.id}/queries",
                                 data={"question": "Why did the coefficient rise to 1.10?", "csrf_token": reviewer_pages.csrf})
    assert raised.status_code == 302
    query_id = db.session.scalar(select(FindingQuery.id))
    assert raised.headers["Location"].endswith(f"/review/queries/{query_id}")
    assert "Awaiting the answer" in text(reviewer_pages.get(f"/review/queries/{query_id}"))
    assert re.search(r'id="tile-open"[^>]*>\s*<span class="num">1<', text(reviewer_pages.get("/review")))
    assert f'id="query-{query_id}"' in text(ops_pages.get("/queries?state=open"))

    answer_form = text(ops_pages.get(f"/queries/{query_id}"))
    assert 'id="answer-form"' in answer_form and 'enctype="multipart/form-data"' in answer_form
    answered = ops_pages.post(f"/queries/{query_id}/answer", content_type="multipart/form-data", data={
        "answer": "Tariff filing 2024-03.", "attachment": (io.BytesIO(sample_pdf()), "filing.pdf"), "csrf_token": ops_pages.csrf})
    assert answered.status_code == 302

    page = text(reviewer_pages.get(f"/review/queries/{query_id}"))
    assert "Tariff filing 2024-03." in page
    assert f'href="/api/queries/{query_id}/attachment"' in page
    assert re.search(r'id="uphold-refund"[^>]*value="918.00"', page)  # the suggestion: the excess premium
    assert reviewer_pages.get(f"/api/queries/{query_id}/attachment").data == sample_pdf()

    closed = reviewer_pages.post(f"/review/queries/{query_id}/close", data={
        "verdict": "upheld", "note": "The filing post-dates the renewal.", "refund_amount": "918.00", "csrf_token": reviewer_pages.csrf})
    assert closed.status_code == 302
    db.session.expire_all()
    [entry] = db.session.scalars(select(LedgerEntry).where(LedgerEntry.category == "premium_refund")).all()
    assert entry.amount == Decimal("918.00") and entry.source_id == str(query_id)
    page = text(reviewer_pages.get(f"/review/queries/{query_id}"))
    assert re.search(r'id="refund">.*918.00', page, re.S)
    assert 'id="uphold-form"' not in page
    history = re.search(r'id="history">(.*?)</table>', page, re.S).group(1)
    assert [a for a in ("created", "answered", "upheld") if a in history] == ["created", "answered", "upheld"]


def test_an_empty_question_is_refused_on_the_page_with_the_reason(reviewer_pages, ctx):
    finding = aq.published_finding()
    resp = reviewer_pages.post(f"/review/audits/{finding.audit_id}/findings/{finding.id}/queries",
                               data={"question": "  ", "csrf_token": reviewer_pages.csrf})
    assert resp.status_code == 422
    assert "This field is required." in text(resp)


def test_a_file_that_is_not_an_allowed_type_is_refused_on_the_answer_page(reviewer, ops_pages, ctx):
    finding = aq.published_finding()
    query_id = reviewer.post(f"/api/audits/{finding.audit_id}/findings/{finding.id}/queries", json={"question": "Why?"}).json["id"]
    resp = ops_pages.post(f"/queries/{query_id}/answer", content_type="multipart/form-data", data={
        "answer": "See the file.", "attachment": (io.BytesIO(b"#!/bin/sh\necho hi\n"), "explain.pdf"), "csrf_token": ops_pages.csrf})
    assert resp.status_code == 422
    assert "must be a PDF, JPEG, PNG or XLSX" in text(resp)
    assert "See the file." in text(resp)  # the explanation is kept in the form


def test_a_reviewer_posting_without_the_csrf_token_is_refused(reviewer_pages, ctx):
    finding = aq.published_finding()
    resp = reviewer_pages.post(f"/review/audits/{finding.audit_id}/findings/{finding.id}/queries", data={"question": "Why?"})
    assert resp.status_code == 400
    assert db.session.scalar(select(FindingQuery.id)) is None


def test_each_side_of_a_query_has_its_own_pages(reviewer_pages, ops_pages, reviewer, ctx):
    finding = aq.published_finding()
    query_id = reviewer.post(f"/api/audits/{finding.audit_id}/findings/{finding.id}/queries", json={"question": "Why?"}).json["id"]
    for url in ("/queries", f"/queries/{query_id}"):
        assert reviewer_pages.get(url).status_code == 403
    assert reviewer_pages.post(f"/queries/{query_id}/answer", data={"answer": "x", "csrf_token": reviewer_pages.csrf}).status_code == 403
    for url in ("/review", f"/review/audits/{finding.audit_id}", f"/review/queries/{query_id}"):
        assert ops_pages.get(url).status_code == 403


# ---- in Chromium ---------------------------------------------------------------------------------------------


def test_a_reviewer_reads_a_report_and_raises_a_query_in_chromium(app, login_as):
    with app.app_context():
        finding = aq.published_finding()
        audit_id, plate = finding.audit_id, finding.truck.plate

    page = login_as("reviewer")

    assert page.url.endswith("/review")
    page.click(f"#report-{audit_id} a")
    assert page.inner_text("#excess-total") == "918.00"
    page.click(f"#findings-table a:has-text('{plate}')")
    assert page.inner_text("#renewal-autonomous") == "1.1000"
    page.fill("#raise-question", "Why did the autonomous coefficient rise after the installation?")
    page.click("#raise-submit")
    assert "Awaiting the answer" in page.inner_text("#query-state")
    assert page.locator("#accept-form").count() == 0  # nothing to close before the insurer answers


def test_an_answer_with_an_attachment_and_the_verdict_in_chromium(app, login_as, tmp_path):
    with app.app_context():
        finding = aq.published_finding()
        db.session.add(FindingQuery(finding_id=finding.id, state="open", question="Why 1.10?"))
        db.session.commit()
        query_id = db.session.scalar(select(FindingQuery.id))
    pdf = tmp_path / "filing.pdf"
    pdf.write_bytes(sample_pdf())

    page = login_as("ops")
    page.goto(page.url.replace("/home", f"/queries/{query_id}"))
    page.fill("#answer-input", "See the tariff filing.")
    page.set_input_files("#answer-attachment", str(pdf))
    page.click("#answer-submit")
    assert page.inner_text("#attachment-link") == "filing.pdf"
    page.click("#logout")

    page = login_as("reviewer")
    page.goto(page.url.replace("/review", f"/review/queries/{query_id}"))
    assert page.input_value("#uphold-refund") == "918.00"
    page.fill("#accept-note", "Explained by the filing.")
    page.click("#accept-submit")
    assert "Accepted (explained)" in page.inner_text("#query-state")
    with app.app_context():
        assert db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.category == "premium_refund")) is None


def test_reviewer_pages_in_chinese_and_english(app, login_as):
    with app.app_context():
        finding = aq.published_finding()
        audit_id = finding.audit_id

    page = login_as("reviewer")
    page.click("#lang-zh")
    page.goto(page.url.split("/review")[0] + f"/review/audits/{audit_id}")
    assert page.get_attribute("html", "lang") == "zh-CN"
    headers = page.inner_text("#findings-table thead")
    assert "车牌号码" in headers and "区县" in headers  # Plate, County
    assert "湘桥" in page.inner_text(f"#finding-{finding.id}")

    page.click("#lang-en")
    assert page.get_attribute("html", "lang") == "en"
    assert "Plate" in page.inner_text("#findings-table thead")
