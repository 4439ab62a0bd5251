"""Statement pages: list with filters, upload with every bad row shown, the statement with versions and progress."""
import io
from pathlib import Path

import pytest

from tests.factories import csv_bytes, upload
from tests.test_statements_ingest import EN, lines, no_statement_objects  # noqa: F401  (autouse fixture)

PAGES = ["/statements", "/statements/upload", "/statements/1"]


@pytest.fixture
def redis_down(app, monkeypatch):
    """Uploads stay queued (no reconciliation runs), so the pages show the waiting state."""
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")


def test_upload_page_stores_the_file_and_shows_the_statement(ops, redis_down):
    resp = upload(ops, "/statements/upload", csv_bytes(EN, lines(3)), "september.csv")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/statements/1")
    page = ops.get("/statements/1").get_data(as_text=True)
    assert 'data-status="queued"' in page and 'id="statement-progress"' in page
    assert 'id="line-count">3<' in page and 'id="billed-total">61.50<' in page  # 3 x 20.00 + 1.50 overage on line 3


def test_upload_page_lists_every_bad_row_and_stores_nothing(ops):
    rows = lines(5)
    rows[1][2] = "2026-08"
    rows[3][0] = rows[3][0][:-1] + str((int(rows[3][0][-1]) + 1) % 10)
    resp = upload(ops, "/statements/upload", csv_bytes(EN, rows), "bad.csv")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert 'id="import-errors"' in page and "<td>3</td><td>period</td>" in page and "<td>5</td><td>iccid</td>" in page
    assert ops.get("/api/statements").json["total"] == 0


def test_upload_page_refuses_a_carrier_that_did_not_issue_the_iccids(ops):
    resp = ops.post("/statements/upload", data={"file": (io.BytesIO(csv_bytes(EN, lines(2))), "s.csv"), "carrier": "china_unicom"},
                    content_type="multipart/form-data")
    assert resp.status_code == 422 and "China Unicom&#39;s statement" in resp.get_data(as_text=True)


def test_statement_page_links_the_version_that_superseded_it(ops, redis_down):
    v1 = upload(ops, "/api/statements", csv_bytes(EN, lines(3)), "a.csv").json
    v2 = upload(ops, "/api/statements", csv_bytes(EN, lines(4)), "b.csv").json
    page = ops.get(f"/statements/{v1['id']}").get_data(as_text=True)
    assert 'id="superseded-by"' in page and f'href="/statements/{v2["id"]}"' in page
    assert 'id="version-1"' in page and 'id="version-2"' in page
    assert 'id="statement-progress"' not in page  # a superseded version has nothing to follow


def test_list_page_filters_by_carrier_month_and_status(ops, redis_down):
    a = upload(ops, "/api/statements", csv_bytes(EN, lines(3)), "a.csv").json
    b = upload(ops, "/api/statements", csv_bytes(EN, lines(3, period="2026-10", prefix="898601")), "b.csv").json
    page = ops.get("/statements").get_data(as_text=True)
    assert f'id="statement-{a["id"]}"' in page and f'id="statement-{b["id"]}"' in page
    page = ops.get("/statements?carrier=china_unicom&period=2026-10&status=queued").get_data(as_text=True)
    assert f'id="statement-{a["id"]}"' not in page and f'id="statement-{b["id"]}"' in page
    page = ops.get("/statements?period=September").get_data(as_text=True)  # a bad filter is ignored, never a 500
    assert f'id="statement-{a["id"]}"' in page


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_login(anon, url):
    resp = anon.get(url)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("url", PAGES)
def test_contractors_and_reviewers_are_refused(contractor, reviewer, url):
    assert contractor.get(url).status_code == 403
    assert reviewer.get(url).status_code == 403


def test_ops_uploads_the_chinese_sample_in_the_browser_and_sees_the_statement(login_as, live_server):
    sample = Path("/work/shared/samples/statement-china_mobile-2026-09-zh.csv")
    if not sample.exists():
        pytest.skip("sample not on this machine")
    page = login_as("ops")
    page.click("text=Statements")
    page.click("#upload-link")
    page.set_input_files("#statement-file", files=[{"name": "中国移动-2026-09.csv", "mimeType": "text/csv",
                                                     "buffer": sample.read_bytes()}])
    page.click("#statement-submit")
    page.wait_for_url("**/statements/*")
    assert page.locator("h1").inner_text() == "China Mobile · 2026-09 · v1"
    assert page.locator("#line-count").inner_text() == "39"
    assert page.locator("#billed-total").inner_text() == "928.50"
    page.click("text=All statements")
    assert "2026-09" in page.locator("#statement-table").inner_text()
