"""The operations home: every figure equals a direct count, the query count does not grow with the fleet,
and other roles see no figures."""
import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import event

from insurer_dms.extensions import db
from insurer_dms.web.service import home_figures
from tests import home_factories as hf
from tests import install_factories as inst
from tests.factories import make_devices, make_entry, make_po


def _seed_fleet(app):
    from insurer_dms.fleet.samples import ExportBuilder, to_csv
    from insurer_dms.fleet.service import import_policy_export

    today = dt.date.today()
    builder = ExportBuilder(seed=7)
    rows = []
    for i in range(12):
        truck = builder.truck(builder.operator(), vehicle=("重型半挂牵引车" if i % 3 else "中型普通货车"))
        start = today - dt.timedelta(days=30) if i < 9 else today - dt.timedelta(days=400)  # 3 lapsed
        rows.append(builder.policy(truck, "商业险", start))
    with app.app_context():
        import_policy_export(to_csv(rows), "fleet.csv")


def test_home_figures_match_direct_counts(app, ctx):
    _seed_fleet(app)
    entry = make_entry(valid_from=dt.date(2020, 1, 1), valid_to=dt.date(2030, 12, 31))
    make_entry(valid_from=dt.date(2020, 1, 1), valid_to=dt.date(2030, 12, 31), withdrawn_on=dt.date(2021, 1, 1))
    po = make_po([entry], quantity=5, order_date=dt.date(2024, 1, 10))
    make_devices(po, 3)
    db.session.commit()
    figures = home_figures()
    assert figures["trucks"] == 12
    assert figures["heavy_trucks"] == 8  # tractors only; the 4 medium goods vehicles are under 12 t
    # trucks 0..8 have cover today; of those, the heavy ones are i % 3 != 0 -> 1,2,4,5,7,8
    assert figures["heavy_insured_today"] == 6
    assert figures["policies_in_force"] == 9
    assert figures["catalogue_usable"] == 1
    assert figures["devices_by_status"] == {"in_stock": 3}
    assert figures["devices_total"] == 3


def test_home_page_shows_the_figures_to_ops_only(app, ops, contractor):
    _seed_fleet(app)
    html = ops.get("/home").get_data(as_text=True)
    assert re.search(r'id="tile-trucks".*?<span class="num">12</span>', html, re.S)
    assert re.search(r'id="tile-heavy-insured".*?<span class="num">6</span>', html, re.S)
    other = contractor.get("/home").get_data(as_text=True)
    assert "tile-trucks" not in other


# ---- the operations home: progress, SIM bill, tickets, never seen, costs -----------------------------------

D = Decimal


@pytest.fixture
def scene(ctx):
    return hf.scene()


def test_every_figure_of_the_programme_is_a_direct_count(scene):
    figures = home_figures()
    p = figures["progress"]
    assert (p["total"]["insured"], p["total"]["installed"], p["total"]["connected"]) == (5, 3, 2)
    by_county = {r["county_code"]: (r["insured"], r["installed"], r["connected"]) for r in p["counties"]}
    assert by_county == {"445100": (0, 0, 0), "445102": (3, 2, 1), "445103": (0, 0, 0), "445122": (2, 1, 1)}
    assert {r["county_code"]: r["overdue"] for r in p["counties"]} == {"445100": 0, "445102": 1, "445103": 0, "445122": 1}
    assert p["total"]["due"] == 5 and p["total"]["overdue"] == 2  # all insured before the deadline: due on it
    assert figures["never_seen"] == 2  # T2 never reported; T4 was connected by hand; T5's device came off
    assert figures["tickets"] == {"open": 3, "at_risk": 1, "breached": 1}  # the closed, breached one is not open
    bill = figures["sim_bill"]
    assert [(s["carrier"], s["period"], s["version"]) for s in bill["statements"]] == [("china_mobile", scene["period"], 2)]
    assert (bill["billed"], bill["expected"], bill["disputed"]) == (D("25.00"), D("20.00"), D("5.00"))
    costs = figures["costs"]
    assert (costs["this"], costs["last"]) == (D("9080.00"), D("65.00"))
    assert {r["category"]: (r["last"], r["this"]) for r in costs["by_category"] if r["last"] or r["this"]} == {
        "device_purchase": (D("0.00"), D("8800.00")), "installation_fee": (D("0.00"), D("280.00")),
        "sim_plan_fee": (D("25.00"), D("0.00")), "travel": (D("40.00"), D("0.00"))}


def tile(html, tile_id):
    found = re.search(rf'id="{tile_id}"[^>]*>\s*<span class="num">([^<]*)</span>', html)
    return found.group(1) if found else None


def test_the_home_page_shows_each_figure_and_links_to_its_list(app, ops, scene):
    html = ops.get("/home").get_data(as_text=True)
    assert [tile(html, t) for t in ("tile-insured", "tile-installed", "tile-connected", "tile-never-seen")] == ["5", "3", "2", "2"]
    assert [tile(html, t) for t in ("tile-tickets-open", "tile-tickets-at-risk", "tile-tickets-breached")] == ["3", "1", "1"]
    assert [tile(html, t) for t in ("tile-sim-billed", "tile-sim-disputed")] == ["25.00", "5.00"]
    assert [tile(html, t) for t in ("tile-costs-this", "tile-costs-last")] == ["9,080.00", "65.00"]
    # insured in 2021-01, before the deadline: due on it; T3 (waiting) and T5 (device off again) are overdue
    deadline = dt.date.fromisoformat(str(app.config["PROGRAMME_DEADLINE"]))
    assert tile(html, "tile-overdue") == "2" and "tile-days-left" not in html and "Days past the deadline" not in html
    assert f"Overdue trucks (oldest {(inst.local_today() - deadline).days} days)" in html
    assert re.findall(r'class="overdue-county" data-county="(\d+)">[^<]*<b>(\d+)</b>', html) == [("445102", "1"), ("445122", "1")]
    assert tile(html, "tile-next-due") == "0" and "None due from today on" in html
    assert 'id="tile-never-seen" href="/installations/never-seen"' in html
    assert 'id="tile-tickets-breached" href="/tickets?state=active&amp;sla_state=breached"' in html
    assert f'href="/statements/{scene["statement_id"]}"' in html
    this = scene["this_period"]
    assert f'id="tile-costs-this" href="/costs?from={this}&amp;to={this}"' in html
    # the charts: 2 counties with trucks x (insured, installed, connected); 4 categories x (last month, this month)
    progress = html[html.index('id="progress-chart"'):html.index("</figure>", html.index('id="progress-chart"'))]
    assert progress.count('<rect class="bar"') == 6
    assert re.findall(r'class="row-label"[^>]*>([^<]*)<', progress) == ["Xiangqiao (incl. Fengxi)", "Raoping"]
    assert 'data-series="installed" data-value="2"' in progress
    costs = html[html.index('id="costs-chart"'):]
    bars = re.findall(r'<rect class="bar" data-series="(\w+)" data-value="([\d.]+)" x="0" y="\d+" width="([\d.]+)%"', costs)
    assert len(bars) == 8
    widths = {(s, D(v)): D(w) for s, v, w in bars}
    assert widths[("this", D("8800.00"))] == 70  # the largest value spans 70 % of the width
    assert widths[("this", D("280.00"))] == D("2.23")  # 280 / 8800 x 70


def test_contractors_see_no_figures_and_reviewers_go_to_their_portal(ops, contractor, reviewer, scene):
    html = contractor.get("/home").get_data(as_text=True)
    for figure in ("tile-sim-billed", "tile-sim-disputed", "tile-costs-this", "costs-chart", "sim-bill", "CNY",
                   "tile-insured", "progress-chart"):
        assert figure not in html
    resp = reviewer.get("/home")
    assert resp.status_code == 302 and "/login" not in resp.headers["Location"]
    assert "tile-costs-this" not in reviewer.get("/home", follow_redirects=True).get_data(as_text=True)


def count_queries(client, url):
    """The SQL statements one request runs (after a first request: a token's last use is written once a minute)."""
    client.get(url)
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(seen)


def test_the_home_runs_the_same_queries_for_10_and_for_200_trucks(app, ops):
    with app.app_context():
        hf.fleet(10)
        small = count_queries(ops, "/home")
        hf.fleet(190)
        large = count_queries(ops, "/home")
        assert home_figures()["progress"]["total"]["insured"] == 200
    assert small == large
    assert large <= 25
