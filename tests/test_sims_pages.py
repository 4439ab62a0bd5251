"""SIM and data-plan pages: lists with filters, details with devices and trucks, status forms, imports, in real Chromium too."""
import pytest

from tests.install_factories import bad_iccid, installed_directly
from tests.sim_factories import (
    PLAN_HEADERS,
    SAMPLE_PLANS,
    SIM_HEADERS,
    csv_bytes,
    iccid,
    msisdn,
    plan_payload,
    plan_rows,
    sim_payload,
    sim_rows,
    upload,
)

PAGES = ["/sims", "/sims/{sim}", "/sims/import", "/data-plans", "/data-plans/{plan}", "/data-plans/import"]
POSTS = ["/sims/{sim}/plan", "/sims/{sim}/status", "/sims/import", "/data-plans/import"]


@pytest.fixture
def plan(ops):
    return ops.post("/api/data-plans", json=plan_payload()).json


@pytest.mark.parametrize("url", PAGES)
def test_pages_are_for_operations_staff_only(ops, anon, contractor, reviewer, plan, url):
    sim = ops.post("/api/sims", json=sim_payload(1, plan_id=plan["id"])).json
    url = url.format(sim=sim["id"], plan=plan["id"])
    resp = anon.get(url)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    for client, status in ((contractor, 403), (reviewer, 403), (ops, 200)):
        assert client.get(url).status_code == status


@pytest.mark.parametrize("url", POSTS)
def test_page_posts_are_for_operations_staff_only(ops, contractor, reviewer, plan, url):
    sim = ops.post("/api/sims", json=sim_payload(1)).json
    url = url.format(sim=sim["id"])
    for client in (contractor, reviewer):
        assert client.post(url, data={"status": "active", "activated_on": "2024-05-01", "plan_id": plan["id"]}).status_code == 403
    after = ops.get(f"/api/sims/{sim['id']}").json
    assert after["status"] == "in_stock" and after["plan"] is None


def test_nav_links_lead_to_sims_and_plans(ops):
    html = ops.get("/home").get_data(as_text=True)
    assert 'href="/sims"' in html and 'href="/data-plans"' in html


def test_sim_list_filters_searches_and_pages(ops, plan):
    for n in range(1, 4):
        ops.post("/api/sims", json=sim_payload(n, plan_id=plan["id"]))
    ops.post("/api/sims", json=sim_payload(4, iccid=iccid(4, prefix="898601"), status="active", activated_on="2024-05-01"))
    html = ops.get("/sims").get_data(as_text=True)
    assert all(iccid(n) in html for n in range(1, 4)) and "4 SIMs" in html
    html = ops.get("/sims?status=active").get_data(as_text=True)
    assert "1 SIM<" in html and "China Unicom" in html and iccid(1) not in html
    html = ops.get(f"/sims?q={msisdn(2)}").get_data(as_text=True)
    assert iccid(2) in html and iccid(1) not in html
    html = ops.get(f"/sims?plan={plan['id']}&carrier=china_mobile").get_data(as_text=True)
    assert "3 SIMs" in html
    paged = ops.get("/sims?page_size=2&page=2&status=")
    assert "Page 2 of 2" in paged.get_data(as_text=True)
    bad = ops.get("/sims?status=lost")
    assert bad.status_code == 200 and "status" in bad.get_data(as_text=True)


def test_sim_detail_shows_the_device_and_truck_and_the_history(ops, app):
    with app.app_context():
        order = installed_directly()
        sim_id, serial, plate = order.sim_id, order.device.serial, order.truck.plate
    html = ops.get(f"/sims/{sim_id}").get_data(as_text=True)
    assert serial in html and plate in html and 'id="assignments"' in html
    assert "Suspended" in html  # the legal targets from active are offered


def test_status_form_suspends_and_refuses_an_early_date(ops, plan):
    sim = ops.post("/api/sims", json=sim_payload(1, status="active", activated_on="2024-05-01")).json
    url = f"/sims/{sim['id']}/status"
    resp = ops.post(url, data={"status": "suspended", "deactivated_on": "2024-04-01"})
    assert resp.status_code == 302
    html = ops.get(f"/sims/{sim['id']}").get_data(as_text=True)
    assert "on or after the activation date" in html
    ops.post(url, data={"status": "suspended", "deactivated_on": "2024-06-01", "activated_on": ""})
    after = ops.get(f"/api/sims/{sim['id']}").json
    assert (after["status"], after["deactivated_on"]) == ("suspended", "2024-06-01")
    html = ops.get(f"/sims/{sim['id']}").get_data(as_text=True)
    assert "Active → Suspended" in html


def test_plan_form_changes_and_clears_the_plan(ops, plan):
    sim = ops.post("/api/sims", json=sim_payload(1)).json
    ops.post(f"/sims/{sim['id']}/plan", data={"plan_id": str(plan["id"])})
    assert ops.get(f"/api/sims/{sim['id']}").json["plan"]["id"] == plan["id"]
    ops.post(f"/sims/{sim['id']}/plan", data={"plan_id": ""})
    assert ops.get(f"/api/sims/{sim['id']}").json["plan"] is None
    ops.post(f"/sims/{sim['id']}/plan", data={"plan_id": "abc"})
    assert "plan_id" in ops.get(f"/sims/{sim['id']}").get_data(as_text=True)


def test_sim_import_page_lists_bad_rows(ops, plan):
    rows = sim_rows(30)
    rows[6][0] = bad_iccid(7)
    resp = upload(ops, "/sims/import", csv_bytes(SIM_HEADERS, rows), "sims.csv")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert 'id="import-errors"' in html and "<td>8</td>" in html and "Luhn" in html
    assert ops.get("/api/sims").json["total"] == 0


def test_plan_pages_list_import_and_show_a_plan(ops):
    resp = upload(ops, "/data-plans/import", SAMPLE_PLANS.read_bytes(), SAMPLE_PLANS.name)
    assert resp.status_code == 200 and "3 created, 0 unchanged" in resp.get_data(as_text=True)
    html = ops.get("/data-plans?q=10G").get_data(as_text=True)
    assert "CM-IOT-10G" in html and "CM-IOT-3G" not in html and "45.50" in html
    plan_id = ops.get("/api/data-plans?q=10G").json["items"][0]["id"]
    html = ops.get(f"/data-plans/{plan_id}").get_data(as_text=True)
    assert "10240" in html and "China Mobile" in html
    rows = plan_rows(5)
    rows[2][2] = "abc"
    resp = upload(ops, "/data-plans/import", csv_bytes(PLAN_HEADERS, rows), "plans.csv")
    assert resp.status_code == 422 and "<td>4</td>" in resp.get_data(as_text=True)


def test_ops_imports_a_sim_file_in_the_browser_and_sees_the_sims(login_as, ops, plan, tmp_path):
    page = login_as("ops")
    path = tmp_path / "sims.csv"
    path.write_bytes(csv_bytes(SIM_HEADERS, sim_rows(12)))

    page.click("header nav >> text=SIMs")
    page.click("#import-link")
    page.set_input_files("#import-file", str(path))
    page.click("#import-submit")
    assert "12 created, 0 unchanged" in page.locator("#import-result").inner_text()

    page.click("#to-list")
    assert page.locator("#sim-total").inner_text() == "12 SIMs"
    page.select_option("#filter-status", "active")
    page.click("#sim-filters button[type=submit]")
    assert page.locator("#sim-total").inner_text() == "2 SIMs"
    assert iccid(5) in page.locator("#sim-table").inner_text()

    page.click(f"#sim-table >> text={iccid(5)}")
    assert page.locator("#f-msisdn").inner_text() == msisdn(5)
    assert "CM-IOT-1G" in page.locator("#f-plan").inner_text()
    assert "imported" in page.locator("#history").inner_text()
