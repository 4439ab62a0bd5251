"""Fleet pages: operations staff browse trucks, policies and operators and import the policy export."""
import io
import re

import pytest

from insurer_dms.fleet.samples import ExportBuilder, to_csv

PAGES = ["/trucks", "/trucks/1", "/policies", "/policies/1", "/operators", "/operators/1", "/policies/import"]


def export_rows():
    builder = ExportBuilder(seed=21)
    operator = builder.operator("445122")
    tractor = builder.truck(operator, "重型半挂牵引车")
    light = builder.truck(operator, "中型普通货车")
    return [builder.policy(tractor, "商业险"), builder.policy(tractor, "交强险"), builder.policy(light, "交强险")]


def post_file(client, data, filename="export.csv"):
    return client.post("/policies/import", data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


@pytest.fixture
def imported(ops):
    rows = export_rows()
    assert post_file(ops, to_csv(rows)).status_code == 200
    return rows


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_login(anon, url):
    resp = anon.get(url)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


@pytest.mark.parametrize("role", ["contractor", "reviewer"])
@pytest.mark.parametrize("url", PAGES)
def test_contractors_and_reviewers_are_refused(request, role, url):
    client = request.getfixturevalue(role)
    assert client.get(url).status_code == 403
    if url == "/policies/import":
        assert post_file(client, b"x").status_code == 403


def test_ops_browses_trucks_policies_and_operators(ops, imported):
    tractor_plate, light_plate = imported[0]["车牌号码"], imported[2]["车牌号码"]
    page = ops.get("/trucks?heavy=true").get_data(as_text=True)
    assert tractor_plate in page and light_plate not in page
    page = ops.get("/trucks?county_code=445122&q=" + light_plate).get_data(as_text=True)
    assert light_plate in page and tractor_plate not in page
    truck_id = re.search(r'href="/trucks/(\d+)"', page).group(1)
    detail = ops.get(f"/trucks/{truck_id}").get_data(as_text=True)
    assert 'id="not-eligible"' in detail and "Not a heavy truck" in detail
    assert imported[2]["保单号"] in detail and imported[0]["经营者名称"] in detail
    policies = ops.get("/policies?kind=commercial").get_data(as_text=True)
    assert imported[0]["保单号"] in policies and imported[1]["保单号"] not in policies
    policy_id = re.search(r'href="/policies/(\d+)"', policies).group(1)
    assert imported[0]["保费"] in ops.get(f"/policies/{policy_id}").get_data(as_text=True)
    operators = ops.get("/operators?q=" + imported[0]["统一社会信用代码"]).get_data(as_text=True)
    operator_id = re.search(r'href="/operators/(\d+)"', operators).group(1)
    assert tractor_plate in ops.get(f"/operators/{operator_id}").get_data(as_text=True)


def test_bad_filter_values_are_ignored_not_fatal(ops, imported):
    resp = ops.get("/trucks?heavy=maybe&page=0")
    assert resp.status_code == 200
    assert "Some filters were ignored" in resp.get_data(as_text=True)


def test_missing_records_are_404_pages(ops):
    assert ops.get("/trucks/999").status_code == 404
    assert ops.get("/policies/999").status_code == 404
    assert ops.get("/operators/999").status_code == 404


def test_import_page_lists_every_bad_row(ops):
    rows = export_rows()
    rows[1] = {**rows[1], "车架号": rows[1]["车架号"][:16] + "?"}
    rows[2] = {**rows[2], "车牌号码": "粤U12"}
    resp = post_file(ops, to_csv(rows))
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    table = html[html.index('id="import-errors"'):]
    assert re.findall(r"<tr><td>(\d+)</td>", table) == ["3", "4"]
    assert ops.get("/api/trucks").json["total"] == 0


def test_ops_imports_an_export_in_the_browser_and_finds_the_truck(login_as, live_server):
    rows = export_rows()
    page = login_as("ops")
    page.click("text=Policy import")
    page.set_input_files("#import-file", files=[{"name": "保单导出.csv", "mimeType": "text/csv", "buffer": to_csv(rows)}])
    page.click("#import-submit")
    result = page.locator("#import-result")
    assert "3 rows" in result.inner_text()
    assert page.locator("#count-operators .created").inner_text() == "1"
    assert page.locator("#count-trucks .created").inner_text() == "2"
    assert page.locator("#count-policies .created").inner_text() == "3"

    page.click("#to-trucks")
    page.fill("#filter-q", rows[0]["车牌号码"])
    page.select_option("#filter-heavy", "true")
    page.click("#filter-submit")
    assert page.locator("#trucks-total").inner_text() == "1 truck"
    page.click(f"text={rows[0]['车牌号码']}")
    assert page.locator("#truck-plate").inner_text() == rows[0]["车牌号码"]
    assert page.locator("#f-vin").inner_text() == rows[0]["车架号"]
    assert page.locator("#f-is_heavy").inner_text() == "Yes"
