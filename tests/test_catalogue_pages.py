"""Catalogue pages: list, detail, withdrawal and import, in the test client and in real Chromium."""
import pytest

from tests.factories import HEADERS_EN, HEADERS_ZH, catalogue_rows, csv_bytes, entry_payload, upload_catalogue

PAGES = ["/catalogue", "/catalogue/{id}", "/catalogue/import"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_are_for_operations_staff_only(ops, anon, contractor, reviewer, url):
    entry = ops.post("/api/catalogue", json=entry_payload()).json
    url = url.format(id=entry["id"])
    resp = anon.get(url)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    for client, status in ((contractor, 403), (reviewer, 403), (ops, 200)):
        assert client.get(url).status_code == status


@pytest.mark.parametrize("url", ["/catalogue/{id}/withdraw", "/catalogue/import"])
def test_page_posts_are_for_operations_staff_only(ops, contractor, reviewer, url):
    entry = ops.post("/api/catalogue", json=entry_payload()).json
    url = url.format(id=entry["id"])
    for client in (contractor, reviewer):
        assert client.post(url, data={"withdrawn_on": "2021-01-01"}).status_code == 403
    assert ops.get(f"/api/catalogue/{entry['id']}").json["withdrawn_on"] is None


def test_list_page_shows_withdrawn_entries_as_such_and_filters(ops):
    ops.post("/api/catalogue", json=entry_payload(model_code="C6D-AI"))
    old = ops.post("/api/catalogue", json=entry_payload(model_code="OLD-1", manufacturer="Howen")).json
    ops.post(f"/api/catalogue/{old['id']}/withdraw", json={"withdrawn_on": "2021-05-01"})
    html = ops.get("/catalogue").get_data(as_text=True)
    assert "C6D-AI" in html and "OLD-1" in html
    assert "Withdrawn 2021-05-01" in html
    hidden = ops.get("/catalogue?include_withdrawn=false&q=").get_data(as_text=True)
    assert "OLD-1" not in hidden and "C6D-AI" in hidden
    bad = ops.get("/catalogue?usable_on=soon")
    assert bad.status_code == 200
    assert "usable_on" in bad.get_data(as_text=True)


def test_import_page_lists_bad_rows(ops):
    rows = catalogue_rows(30)
    rows[4][12] = "free"
    resp = upload_catalogue(ops, csv_bytes(HEADERS_ZH, rows), "catalogue.csv", url="/catalogue/import")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="import-errors"' in html and "中标单价(元)" in html and "<td>6</td>" in html
    assert ops.get("/api/catalogue").json["total"] == 0


def test_import_page_without_a_file_says_so(ops):
    resp = ops.post("/catalogue/import", data={}, content_type="multipart/form-data")
    assert resp.status_code == 422
    assert "Choose a file" in resp.get_data(as_text=True)


def test_ops_imports_a_csv_in_the_browser_and_finds_the_entry(login_as, live_server, tmp_path):
    page = login_as("ops")
    path = tmp_path / "catalogue.csv"
    rows = catalogue_rows(3)
    rows[0][2], rows[0][3] = "锐明技术", "C6D-AI"
    path.write_bytes(csv_bytes(HEADERS_ZH, rows))

    page.click("text=Catalogue")
    page.click("#import-link")
    page.set_input_files("#import-file", str(path))
    page.click("#import-submit")
    assert "3 created, 0 unchanged" in page.locator("#import-result").inner_text()

    page.click("#to-list")
    page.fill("#filter-q", "C6D")
    page.click("#catalogue-filters button[type=submit]")
    table = page.locator("#catalogue-table")
    assert "锐明技术" in table.inner_text()
    assert page.locator("#catalogue-total").inner_text() == "1 entry"

    page.click("#catalogue-table >> text=C6D-AI")
    assert page.locator("#f-model_code").inner_text() == "C6D-AI"
    assert "import" in page.locator("#history").inner_text()
    page.fill("#withdrawn-on", "2021-09-30")
    page.click("#withdraw-submit")
    assert "2021-09-30" in page.locator("#withdrawn-note").inner_text()
    assert "withdraw" in page.locator("#history").inner_text()


def test_import_page_shows_row_errors_in_the_browser(login_as, live_server, tmp_path):
    page = login_as("ops")
    rows = catalogue_rows(5)
    rows[2][8] = "-2"
    path = tmp_path / "catalogue.csv"
    path.write_bytes(csv_bytes(HEADERS_EN, rows))
    page.goto(live_server.url("/catalogue/import"))
    page.set_input_files("#import-file", str(path))
    page.click("#import-submit")
    cells = page.locator("#import-errors tbody tr td").all_inner_texts()
    assert cells[:2] == ["4", "video_channels"]
    assert page.locator("#import-result").count() == 0

