"""The reconciliation API and pages: summary, results with filters, exports, re-run, and who may see them."""
import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from insurer_dms.extensions import db
from insurer_dms.sims import reconciliation
from insurer_dms.sims.models import Statement
from tests import statement_factories as sf

URLS = ["/api/statements/{id}/summary", "/api/statements/{id}/results", "/api/statements/{id}/discrepancies.csv",
        "/api/statements/{id}/discrepancies.xlsx"]
PAGES = ["/statements/{id}/results", "/statements/{id}/discrepancies.csv", "/statements/{id}/discrepancies.xlsx"]


@pytest.fixture
def reconciled(app):
    """A statement with a matched, an overbilled, an unknown and a missing SIM, reconciled."""
    with app.app_context():
        plan = sf.plan(fee="20.00")
        a, b, c = sf.sim(plan), sf.sim(plan), sf.sim(plan)
        st = sf.statement([sf.line(a.iccid, "20.00", data_kb=100), sf.line(b.iccid, "26.50", msisdn_="1440000099999"),
                           sf.line(sf.iccid_not_ours(), "20.00")])
        reconciliation.reconcile(st.id)
        return {"id": st.id, "a": a.iccid, "b": b.iccid, "c": c.iccid, "c_id": c.id}


@pytest.fixture
def pending(app):
    with app.app_context():
        return sf.statement([sf.line(sf.iccid_not_ours(), "20.00")]).id


def test_ops_sees_the_summary(ops, reconciled):
    body = ops.get(f"/api/statements/{reconciled['id']}/summary").json
    assert (body["lines"], body["billed_total"], body["expected_total"]) == (3, "66.50", "60.00")
    assert body["outcomes"]["overbilled"] == {"count": 1, "billed": "26.50", "expected": "20.00", "difference": "6.50"}
    assert body["outcomes"]["missing"]["count"] == 1
    assert body["amount_in_dispute"] == "26.50"  # 6.50 overbilled + 20.00 not ours
    assert body["flags"] == {"zero_usage_installed": 0, "over_allowance": 0}


def test_results_filter_by_outcome_flag_and_iccid_and_page(ops, reconciled):
    url = f"/api/statements/{reconciled['id']}/results"
    every = ops.get(url).json
    assert every["total"] == 4
    assert [i["row"] for i in every["items"]] == [2, 3, 4, None]  # file order, missing SIMs last
    (over,) = ops.get(url + "?outcome=overbilled").json["items"]
    assert (over["iccid"], over["msisdn"], over["billed"], over["expected"], over["difference"]) == (
        reconciled["b"], "1440000099999", "26.50", "20.00", "6.50")
    assert "26.50" in over["reason"]
    (missing,) = ops.get(url + f"?q={reconciled['c'][-8:]}").json["items"]
    assert (missing["outcome"], missing["sim_id"], missing["billed"]) == ("missing", reconciled["c_id"], None)
    assert ops.get(url + "?flag=over_allowance").json["total"] == 0
    paged = ops.get(url + "?page=2&page_size=3").json
    assert (paged["pages"], len(paged["items"])) == (2, 1)


def test_a_bad_filter_is_a_422_naming_it(ops, reconciled):
    response = ops.get(f"/api/statements/{reconciled['id']}/results?outcome=stolen&flag=x")
    assert response.status_code == 422
    assert {"outcome", "flag"} <= set(response.json["errors"])


def test_the_discrepancy_csv_lists_every_result_but_the_clean_matches(ops, reconciled):
    response = ops.get(f"/api/statements/{reconciled['id']}/discrepancies.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Row", "ICCID", "MSISDN"]
    assert [(r[0], r[1], r[6]) for r in rows[1:]] == [
        ("3", reconciled["b"], "overbilled"), ("4", sf.iccid_not_ours(), "unknown_sim"), ("", reconciled["c"], "missing")]
    assert rows[1][3:6] == ["26.50", "20.00", "6.50"]
    zh = ops.get(f"/api/statements/{reconciled['id']}/discrepancies.csv", headers={"Accept-Language": "zh-CN"})
    zh_rows = list(csv.reader(io.StringIO(zh.data.decode("utf-8-sig"))))
    assert zh_rows[0][0] == "行" and [r[6] for r in zh_rows[1:]] == ["多收费", "未知SIM卡", "账单缺失"]


def test_the_discrepancy_xlsx_has_the_same_rows_with_numbers(ops, reconciled):
    response = ops.get(f"/api/statements/{reconciled['id']}/discrepancies.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 4
    assert rows[1][1] == reconciled["b"] and Decimal(str(rows[1][5])) == Decimal("6.50")


def test_an_unknown_statement_is_404(ops):
    for url in URLS:
        assert ops.get(url.format(id=999)).status_code == 404
    assert ops.post("/api/statements/999/reconcile").status_code == 404


def test_a_statement_not_reconciled_yet_is_409(ops, pending):
    for url in URLS:
        response = ops.get(url.format(id=pending))
        assert response.status_code == 409, url
    assert ops.get(f"/statements/{pending}/results").status_code == 409


def test_rerun_reconciles_again_with_the_same_results(app, ops, pending):
    response = ops.post(f"/api/statements/{pending}/reconcile")
    assert response.status_code == 202
    assert (response.json["status"], response.json["progress"]) == ("done", 100)  # no Redis: ran inline
    first = ops.get(f"/api/statements/{pending}/results").json["items"]
    assert ops.post(f"/api/statements/{pending}/reconcile").status_code == 202
    second = ops.get(f"/api/statements/{pending}/results").json["items"]
    assert [{k: v for k, v in i.items() if k != "id"} for i in first] == [{k: v for k, v in i.items() if k != "id"} for i in second]


def test_with_redis_down_a_rerun_stays_queued(app, ops, pending):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/15"  # nothing listens there
    try:
        response = ops.post(f"/api/statements/{pending}/reconcile")
    finally:
        app.config["REDIS_URL"] = None
    assert response.status_code == 202 and response.json["status"] == "queued"


def test_every_endpoint_refuses_anonymous_and_other_roles(anon, contractor, reviewer, reconciled):
    urls = [u.format(id=reconciled["id"]) for u in URLS]
    for url in urls:
        assert anon.get(url).status_code == 401, url
        assert contractor.get(url).status_code == 403, url
        assert reviewer.get(url).status_code == 403, url
    rerun = f"/api/statements/{reconciled['id']}/reconcile"
    assert anon.post(rerun).status_code == 401
    assert contractor.post(rerun).status_code == 403
    assert reviewer.post(rerun).status_code == 403


def test_pages_are_for_ops_only(anon, contractor, reviewer, reconciled):
    for url in [p.format(id=reconciled["id"]) for p in PAGES]:
        assert anon.get(url).status_code in (302, 401), url
        assert contractor.get(url).status_code == 403, url
        assert reviewer.get(url).status_code == 403, url


def test_the_results_page_filters_and_links_to_the_sim(ops, reconciled):
    page = ops.get(f"/statements/{reconciled['id']}/results?outcome=missing").data.decode()
    assert f'/sims/{reconciled["c_id"]}"' in page and reconciled["a"] not in page
    assert 'id="export-csv"' in page and 'id="filter-outcome"' in page
    page = ops.get(f"/statements/{reconciled['id']}/results").data.decode()
    assert reconciled["a"] in page and reconciled["b"] in page
    assert ops.get(f"/statements/{reconciled['id']}/discrepancies.xlsx").status_code == 200


def test_the_summary_partial_renders_for_the_statement_page(app, reconciled, pending):
    from flask import render_template

    with app.test_request_context("/"):
        done = render_template("sims/reconciliation_summary.html", statement=db.session.get(Statement, reconciled["id"]))
        assert 'id="rs-overbilled"' in done and "26.50" in done and 'id="rs-csv"' in done
        waiting = render_template("sims/reconciliation_summary.html", statement=db.session.get(Statement, pending))
        assert 'id="rs-pending"' in waiting and 'id="rs-rerun"' in waiting


def test_the_statement_page_shows_the_summary_and_links_the_results(ops, reconciled):
    page = ops.get(f"/statements/{reconciled['id']}").data.decode()
    assert 'id="reconciliation-summary"' in page and 'id="rs-overbilled"' in page
    assert f'/statements/{reconciled["id"]}/results' in page
    results = ops.get(f"/statements/{reconciled['id']}/results").data.decode()
    assert f'/statements/{reconciled["id"]}"' in results  # back to the statement page
