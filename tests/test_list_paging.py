"""Every list pages and sorts the same way: page numbers with a window and ellipses, a jump-to-page form and a page
size chooser that keep the filters and the sort; ``sort=col`` / ``sort=-col`` from a list's allow-list, ties by id;
an unknown sort is flashed and ignored on a page, 422 on the API, never a 500. Chromium: a page number and a column
header are clicked, and a list on a 390 px phone does not scroll sideways nor break a plate."""
import re
from html import unescape

import pytest

from tests import install_factories as f
from tests.factories import make_devices, make_po


@pytest.fixture
def devices(ctx):
    po = make_po(quantity=45)
    return make_devices(po, 45)


def page_html(client, url):
    resp = client.get(url, headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def pager_of(html):
    return html[html.index('id="pager"'):html.index("</nav>", html.index('id="pager"'))]


def test_page_numbers_window_and_ellipses_keep_filters_and_sort(ops, devices):
    pager = pager_of(page_html(ops, "/devices?status=in_stock&sort=-serial&page_size=5&page=5"))
    numbers = re.findall(r'class="page-number[^"]*" (?:aria-current="page" )?data-page="(\d+)"', pager)
    assert numbers == ["1", "3", "4", "5", "6", "7", "9"]
    assert pager.count('<span class="gap">…</span>') == 2
    assert re.search(r'<strong class="page-number current" aria-current="page" data-page="5">5</strong>', pager)
    links = [unescape(h) for h in re.findall(r'href="([^"]+)"', pager)]
    assert links and all("status=in_stock" in h and "sort=-serial" in h and "page_size=5" in h for h in links)
    assert "第 5 页，共 9 页" in pager and "共 45 条" in pager and "上一页" in pager and "下一页" in pager
    assert "每页条数" in pager and "跳转" in pager


def test_first_and_last_pages_have_no_gap_and_one_page_shows_only_itself(ops, devices):
    pager = pager_of(page_html(ops, "/devices?page_size=5&page=1"))
    assert re.findall(r'data-page="(\d+)"', pager) == ["1", "2", "3", "9"] and pager.count("…") == 1
    assert 'id="page-prev"' not in pager and 'id="page-next"' in pager
    pager = pager_of(page_html(ops, "/devices?page_size=5&page=9"))
    assert re.findall(r'data-page="(\d+)"', pager) == ["1", "7", "8", "9"] and 'id="page-next"' not in pager
    pager = pager_of(page_html(ops, "/devices"))
    assert re.findall(r'data-page="(\d+)"', pager) == ["1"] and "…" not in pager


def test_jump_and_page_size_forms_keep_the_filters_and_sort(app, ops, devices):
    pager = pager_of(page_html(ops, "/devices?status=in_stock&sort=serial&page_size=5&page=2"))
    jump = pager[pager.index('id="page-jump"'):pager.index("</form>", pager.index('id="page-jump"'))]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', jump))
    assert hidden == {"status": "in_stock", "sort": "serial", "page_size": "5"}
    assert 'name="page"' in jump and 'max="9"' in jump
    size = pager[pager.index('id="page-size"'):pager.index("</form>", pager.index('id="page-size"'))]
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', size))
    assert hidden == {"status": "in_stock", "sort": "serial"}  # a new size starts at page 1
    assert re.findall(r'<option value="(\d+)"', size) == ["5", "20", "50", "100", "200"]  # the size in use too
    assert re.search(r'<option value="5" selected>', size)
    # the jump lands on the page asked for
    html = page_html(ops, "/devices?status=in_stock&sort=serial&page_size=5&page=7")
    assert re.search(r'aria-current="page" data-page="7"', html) and "SN000031" in html and "SN000036" not in html
    app.config["PAGE_SIZE_MAX"] = 100
    try:
        size = pager_of(page_html(ops, "/devices"))  # 50 a page by default
        assert re.findall(r'<option value="(\d+)"', size) == ["20", "50", "100"]
    finally:
        app.config["PAGE_SIZE_MAX"] = 500


def test_sortable_headers_toggle_and_keep_the_filters(ops, devices):
    html = page_html(ops, "/devices?status=in_stock&sort=serial&page=3&page_size=5")
    head = html[html.index("<thead>"):html.index("</thead>")]
    link = unescape(re.search(r'href="([^"]+)" class="sort-link" data-sort="serial"', head).group(1))
    assert "sort=-serial" in link and "status=in_stock" in link and "page=" not in link.replace("page_size", "")
    assert 'aria-sort="ascending"' in head and "▲" in head
    other = unescape(re.search(r'href="([^"]+)" class="sort-link" data-sort="terminal_id"', head).group(1))
    assert "sort=terminal_id" in other
    html = page_html(ops, "/devices?sort=-serial")
    assert 'aria-sort="descending"' in html and html.index("SN000045") < html.index("SN000044")


def test_api_sort_ascending_descending_and_ties_by_id(ops, devices):
    serials = [d["serial"] for d in ops.get("/api/devices?sort=serial&page_size=100").json["items"]]
    assert serials == sorted(serials) and len(serials) == 45
    serials = [d["serial"] for d in ops.get("/api/devices?sort=-serial&page_size=100").json["items"]]
    assert serials == sorted(serials, reverse=True)
    # every device is in stock: the state ties, the id decides, the same way on every page
    ids = [d["id"] for p in (1, 2, 3) for d in ops.get(f"/api/devices?sort=status&page_size=15&page={p}").json["items"]]
    assert ids == sorted(ids) and len(set(ids)) == 45
    ids = [d["id"] for d in ops.get("/api/devices?sort=-status&page_size=100").json["items"]]
    assert ids == sorted(ids, reverse=True)


def test_api_sort_by_a_joined_column(ops, ctx):
    for _ in range(4):
        f.insured_truck()
    plates = [p["truck"]["plate"] for p in ops.get("/api/policies?sort=plate").json["items"]]
    assert plates == sorted(plates) and len(plates) == 4
    plates = [o["plate"] for o in ops.get("/api/trucks?sort=-plate").json["items"]]
    assert plates == sorted(plates, reverse=True)


@pytest.mark.parametrize("value", ["bogus", "-", "--serial", "serial;drop", "x" * 200, "id"])
def test_an_unknown_sort_is_422_on_the_api_and_ignored_on_the_page(ops, devices, value):
    resp = ops.get("/api/devices", query_string={"sort": value})
    assert resp.status_code == 422 and "sort" in resp.json["errors"]
    resp = ops.get("/devices", query_string={"sort": value, "page_size": 5})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Some filters were ignored: sort" in html
    assert html.index("SN000045") < html.index("SN000041")  # the list's own order, newest first
    resp = ops.get("/api/trucks", query_string={"sort": value, "format": "xlsx"})
    assert resp.status_code == 422


# ---- in Chromium ---------------------------------------------------------------------------------------------------


@pytest.fixture
def trucks(app):
    with app.app_context():
        return [f.insured_truck().plate for _ in range(5)]


def test_clicking_a_page_number_and_a_header_then_a_phone_without_sideways_scroll(login_as, live_server, trucks):
    page = login_as("ops")
    page.goto(live_server.url("/trucks?page_size=2"))
    page.click('#pager a.page-number[data-page="2"]')
    page.wait_for_url(re.compile(r"page=2"))
    assert page.locator("#pager .current").inner_text() == "2"
    assert "page_size=2" in page.url

    page.click('th.sortable a[data-sort="plate"]')
    page.wait_for_url(re.compile(r"sort=plate"))
    shown = page.locator("#trucks-table tbody a.plate").all_inner_texts()
    assert shown == sorted(trucks)[:2] and "page=2" not in page.url
    page.click('th.sortable a[data-sort="plate"]')
    page.wait_for_url(re.compile(r"sort=-plate"))
    assert page.locator("#trucks-table tbody a.plate").all_inner_texts() == sorted(trucks, reverse=True)[:2]

    page.set_viewport_size({"width": 390, "height": 844})
    for url in ("/trucks?page_size=2&sort=-plate", "/work-orders", "/devices", "/sims", "/tickets"):
        page.goto(live_server.url(url))
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, url
        pager = page.locator("#pager").bounding_box()
        assert pager["x"] >= 0 and pager["x"] + pager["width"] <= 390, url
    page.goto(live_server.url("/trucks?page_size=5"))
    for plate in page.locator("#trucks-table tbody a.plate").all():
        assert plate.evaluate("e => e.getClientRects().length") == 1  # 粤U2HSWZ on one line, never 粤 / U2HSWZ
