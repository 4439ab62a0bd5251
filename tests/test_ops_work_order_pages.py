"""Operations pages for installations: work orders, bulk creation, online status, never seen, progress (with Chromium)."""
import datetime as dt
import io
import re

import pytest
from sqlalchemy import select

from insurer_dms.extensions import db
from insurer_dms.installs.models import OnlineStatusImport, WorkOrder
from tests import install_factories as f
from tests.factories import csv_bytes

LOCAL = f.LOCAL_TZ
PAGES = ["/work-orders", "/work-orders/1", "/work-orders/bulk", "/online-status", "/online-status/1",
         "/installations/never-seen", "/progress", "/progress.csv"]
POSTS = ["/work-orders/1/assign", "/work-orders/1/cancel", "/work-orders/1/rework", "/work-orders/1/confirm-connection",
         "/work-orders/bulk", "/online-status"]


def html(resp):
    return resp.get_data(as_text=True)


def post_file(client, data, filename):
    return client.post("/online-status", data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_login(anon, url):
    resp = anon.get(url)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("role", ["contractor", "reviewer"])
def test_contractors_and_reviewers_are_refused_every_ops_page(request, role):
    client = request.getfixturevalue(role)
    wrong = [url for url in PAGES if client.get(url).status_code != 403]
    wrong += [f"POST {url}" for url in POSTS if client.post(url, data={}).status_code != 403]
    assert wrong == []


def test_ops_sees_the_installs_pages_in_the_top_bar(ops):
    page = html(ops.get("/home"))
    for href in ('href="/work-orders"', 'href="/progress"', 'href="/online-status"'):
        assert href in page


def test_ops_lists_and_filters_work_orders(ops, ctx):
    waiting = f.open_order(f.insured_truck(county="445102"))
    done = f.installed_directly(f.insured_truck(county="445122"), company_name="Beta Installations")
    beta = done.company_id
    page = html(ops.get("/work-orders"))
    assert waiting.number in page and done.number in page and 'id="orders-total"' in page
    page = html(ops.get("/work-orders?state=installed"))
    assert done.number in page and waiting.number not in page
    page = html(ops.get("/work-orders?county_code=445102&kind=install"))
    assert waiting.number in page and done.number not in page
    page = html(ops.get(f"/work-orders?company_id={beta}"))
    assert done.number in page and waiting.number not in page
    page = html(ops.get(f"/work-orders?q={done.truck.plate}"))
    assert done.number in page and waiting.number not in page
    page = html(ops.get("/work-orders?page_size=1&page=2"))
    assert "Page 2 of 2" in page and 'id="page-prev"' in page
    resp = ops.get("/work-orders?state=lost")
    assert resp.status_code == 200 and "Some filters were ignored" in html(resp)


def test_work_order_detail_shows_truck_photos_review_flag_and_config_sheet(ops, ctx):
    order = f.installed_directly(msisdn_="1440000000321")
    f.with_photos(order)
    order = db.session.get(WorkOrder, order.id)
    order.photos[0].other_day = True
    order.needs_review, order.review_note = True, "Plate photo taken the day before"
    db.session.commit()
    page = html(ops.get(f"/work-orders/{order.id}"))
    assert order.truck.plate in page and order.number in page
    assert 'id="needs-review"' in page and "Plate photo taken the day before" in page
    assert page.count('id="photo-') == 3 and "Taken on another day than the install" in page
    assert 'id="config-sheet-link"' in page and f"/api/work-orders/{order.id}/config-sheet?format=csv" in page
    assert "1440000000321" in page
    assert 'id="confirm-form"' in page and 'id="rework-form"' in page and 'id="cancel-form"' not in page
    assert ops.get("/work-orders/9999").status_code == 404


def test_ops_assigns_and_cancels_an_order_from_its_page(ops, ctx):
    order = f.open_order()
    company = f.company("Gamma Installations")
    page = html(ops.get(f"/work-orders/{order.id}"))
    assert 'id="assign-form"' in page and 'id="cancel-form"' in page and "Gamma Installations" in page
    resp = ops.post(f"/work-orders/{order.id}/assign", data={"company_id": company.id})
    assert resp.status_code == 302
    assert "Gamma Installations" in html(ops.get(f"/work-orders/{order.id}"))
    resp = ops.post(f"/work-orders/{order.id}/cancel", data={"reason": ""})
    assert resp.status_code == 422 and "Say why the order is cancelled." in html(resp)
    resp = ops.post(f"/work-orders/{order.id}/cancel", data={"reason": "Truck sold before the appointment"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(WorkOrder, order.id).state == "cancelled"
    assert ops.post(f"/work-orders/{order.id}/assign", data={"company_id": company.id}).status_code == 409


def test_ops_confirms_a_connection_by_hand_only_with_a_reason(ops, ctx):
    order = f.installed_directly()
    resp = ops.post(f"/work-orders/{order.id}/confirm-connection", data={"reason": " "})
    assert resp.status_code == 422 and "Say why the connection is confirmed by hand" in html(resp)
    resp = ops.post(f"/work-orders/{order.id}/confirm-connection", data={"reason": "Checked on the platform map"})
    assert resp.status_code == 302
    page = html(ops.get(f"/work-orders/{order.id}"))
    assert "Connection confirmed." in page and "manual: Checked on the platform map" in page
    resp = ops.post(f"/work-orders/{order.id}/rework", data={"note": "Camera points at the roof"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(WorkOrder, order.id).state == "rework"


def test_bulk_create_page_shows_created_count_and_refused_trucks(ops, ctx):
    eligible = [f.insured_truck(county="445103") for _ in range(2)]
    light = f.insured_truck(county="445103", heavy=False)
    uninsured = f.insured_truck(county="445103", policy=False)
    assert 'id="bulk-form"' in html(ops.get("/work-orders/bulk"))
    resp = ops.post("/work-orders/bulk", data={"county_code": "445103"})
    assert resp.status_code == 200
    page = html(resp)
    assert "2 orders created." in page
    assert light.plate in page and "Not a heavy truck" in page
    assert uninsured.plate in page and "No policy in force" in page
    assert all(t.plate not in page for t in eligible)
    again = html(ops.post("/work-orders/bulk", data={"county_code": "445103"}))
    assert "0 orders created." in again and "Order already open" in again
    assert ops.post("/work-orders/bulk", data={"county_code": "999999"}).status_code == 422


def test_online_status_page_uploads_and_shows_counts_and_unmatched_rows(ops, ctx):
    order = f.installed_directly(msisdn_="1440000000456")
    data = csv_bytes(["终端手机号", "最后在线时间"], [["1440000000456", "2024-05-21 08:00:00"], ["1440000000000", "2024-05-21 08:00:00"]])
    assert 'id="import-form"' in html(ops.get("/online-status"))
    resp = post_file(ops, data, "export.csv")
    assert resp.status_code == 302
    page = html(ops.get(resp.headers["Location"]))
    assert 'data-status="done"' in page
    assert re.search(r'id="count-rows">2<', page) and re.search(r'id="count-connected">1<', page)
    assert "Unknown terminal phone number" in page and "1440000000000" in page
    assert "export.csv" in html(ops.get("/online-status"))
    db.session.expire_all()
    assert db.session.get(WorkOrder, order.id).state == "connected"
    resp = post_file(ops, data, "export.csv")  # the same file again: the first import
    assert resp.status_code == 302 and resp.headers["Location"].endswith(page_id := f"/online-status/{db.session.scalar(select(OnlineStatusImport.id))}")
    assert "imported before" in html(ops.get(page_id))
    resp = post_file(ops, csv_bytes(["车牌颜色", "最后在线时间"], [["2", "2024-05-21"]]), "wrong.csv")
    assert resp.status_code == 422 and "No terminal phone number" in html(resp)
    assert ops.get("/online-status/999").status_code == 404


def test_online_status_page_shows_the_background_result_on_reload(app, ops, rq_worker):
    with app.app_context():
        order_id = f.installed_directly(msisdn_="1440000000457").id
    data = csv_bytes(["SIM卡号", "最后上线时间"], [["1440000000457", "2024-05-21 08:00:00"]])
    with rq_worker.configured():
        resp = post_file(ops, data, "background.csv")
    url = resp.headers["Location"]
    page = html(ops.get(url))
    assert 'data-status="pending"' in page and 'id="import-waiting"' in page and 'http-equiv="refresh"' in page
    rq_worker.run()
    page = html(ops.get(url))
    assert 'data-status="done"' in page and re.search(r'id="count-connected">1<', page)
    with app.app_context():
        assert db.session.get(WorkOrder, order_id).state == "connected"


def test_never_seen_page_lists_oldest_first(ops, ctx):
    newer = f.installed_directly(installed_at=dt.datetime(2021, 5, 20, tzinfo=LOCAL))
    older = f.installed_directly(installed_at=dt.datetime(2021, 4, 20, tzinfo=LOCAL))
    seen = f.installed_directly(installed_at=dt.datetime(2021, 3, 20, tzinfo=LOCAL), first_seen_at=dt.datetime(2021, 3, 21, tzinfo=LOCAL))
    page = html(ops.get("/installations/never-seen"))
    assert page.index(older.truck.plate) < page.index(newer.truck.plate)
    assert seen.truck.plate not in page
    page = html(ops.get("/installations/never-seen?county_code=445102&page_size=1"))
    assert "Page 1 of 2" in page


def progress_fleet():
    """Xiangqiao: 3 insured heavy trucks, 2 installed, 1 connected; Raoping: 1 insured, 1 open order."""
    trucks = [f.insured_truck(county="445102") for _ in range(3)]
    f.installed_directly(trucks[0], state="connected")
    f.installed_directly(trucks[1])
    f.open_order(f.insured_truck(county="445122"))
    f.insured_truck(county="445122", heavy=False)


def test_progress_page_has_a_chart_a_table_and_a_csv_link(ops, ctx):
    progress_fleet()
    page = html(ops.get("/progress"))
    assert page.count('class="bar-group"') == 2  # the counties with trucks; an empty county draws no row
    assert 'data-county="445102" data-insured="3" data-installed="2" data-connected="1"' in page
    assert re.search(r'id="total-insured">4<', page) and re.search(r'id="total-installed">2<', page)
    assert "50.0 %" in page and "66.7 %" in page and "33.3 %" in page
    assert 'href="/progress.csv"' in page and 'href="/progress.xlsx"' in page and 'href="/progress.csv?lang=en"' in page
    resp = ops.get("/progress.csv?lang=en")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    counties = resp.data.decode("utf-8-sig").split("\r\n\r\n")[0]  # the contractors follow a blank line
    # insured in 2021-01, due on the deadline: all due, the truck without a device in each county overdue
    assert "445102,Xiangqiao (incl. Fengxi),3,0,2,1,66.7,33.3,3,1," in counties
    assert counties.strip().splitlines()[-1].startswith(",Total,4,1,2,1,50.0,25.0,4,2,")


def test_ops_opens_the_progress_chart_in_the_browser(app, login_as, live_server):
    with app.app_context():
        progress_fleet()
    page = login_as("ops")
    page.click("header.top nav >> text=Progress")
    page.wait_for_url("**/progress")
    chart = page.locator("svg#progress-chart")
    assert chart.is_visible()
    assert chart.locator("g.bar-group").count() == 2  # Xiangqiao and Raoping; the counties without trucks draw no row
    group = chart.locator('g.bar-group[data-county="445102"]')
    assert group.locator("text.figures").text_content() == "2 / 3 · 1 connected"
    widths = {cls: float(group.locator(f"rect.{cls}").get_attribute("width").rstrip("%")) for cls in ("insured", "installed", "connected")}
    assert widths["insured"] > widths["installed"] > widths["connected"] > 0
    assert page.locator("#total-insured").inner_text() == "4"
    assert page.locator("#progress-445102 .installed-pct").inner_text() == "66.7 %"
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 100
    page.set_viewport_size({"width": 390, "height": 800})  # a phone: the chart shrinks to fit, nothing scrolls sideways
    box = chart.bounding_box()
    assert box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_a_removal_order_names_its_reason_in_words(ops, ctx):
    installed = f.installed_order()
    order_id = f.open_order(truck=installed.truck, kind="removal", reason="truck_sold").id
    chinese = html(ops.get(f"/work-orders/{order_id}", headers={"Accept-Language": "zh-CN"}))
    english = html(ops.get(f"/work-orders/{order_id}", headers={"Accept-Language": "en"}))
    assert "车辆已出售" in chinese and "truck_sold" not in chinese
    assert "Truck sold" in english
