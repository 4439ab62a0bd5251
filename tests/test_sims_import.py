"""Bulk SIM registration by file: every row checked, every bad row listed, nothing stored unless all are good."""
import pytest

from insurer_dms.luhn import check_digit
from tests.install_factories import bad_iccid
from tests.sim_factories import SIM_HEADERS, SIM_HEADERS_ZH, csv_bytes, iccid, msisdn, plan_payload, sim_rows, upload, xlsx_bytes

URL = "/api/sims/import"


@pytest.fixture
def plans(ops):
    """The China Mobile sample plans and one China Unicom plan."""
    return {
        "cm": ops.post("/api/data-plans", json=plan_payload()).json,
        "cm3": ops.post("/api/data-plans", json=plan_payload(code="CM-IOT-3G", monthly_fee="20.00", allowance_mb=3072)).json,
        "cu": ops.post("/api/data-plans", json=plan_payload(carrier="china_unicom", code="CU-1G")).json,
    }


def test_a_file_of_200_sims_registers_them_all_and_again_changes_nothing(ops, plans):
    data = csv_bytes(SIM_HEADERS, sim_rows(200))
    resp = upload(ops, URL, data, "sims.csv")
    assert resp.status_code == 201, resp.json
    assert resp.json == {"created": 200, "unchanged": 0}
    active = ops.get("/api/sims?status=active&page_size=500").json
    assert active["total"] == 40 and {s["activated_on"] for s in active["items"]} == {"2024-05-01"}
    assert ops.get(f"/api/sims?plan={plans['cm']['id']}").json["total"] == 200
    before = ops.get("/api/sims?page_size=500").json
    history = ops.get(f"/api/sims/{before['items'][0]['id']}").json["history"]
    assert [h["action"] for h in history] == ["import"] and history[0]["note"] == "sims.csv"

    again = upload(ops, URL, data, "sims.csv")
    assert again.status_code == 201 and again.json == {"created": 0, "unchanged": 200}
    assert ops.get("/api/sims?page_size=500").json == before
    assert ops.get(f"/api/sims/{before['items'][0]['id']}").json["history"] == history


def test_a_file_with_a_few_bad_rows_among_200_stores_nothing_and_lists_each(ops, plans):
    rows = sim_rows(200)
    rows[4][0] = bad_iccid(5)                          # row 6: Luhn
    rows[19][0] = "8986001234"                         # row 21: too short
    rows[39][2] = "china_unicom"                       # row 41: carrier disagrees with the ICCID
    rows[59][3] = "CM-NOPE"                            # row 61: unknown plan
    rows[79][3] = "CU-1G"                              # row 81: a Unicom plan for a Mobile SIM
    rows[99][0], rows[99][1] = rows[98][0], rows[98][1]  # row 101: same SIM as row 100
    rows[119][1] = rows[118][1]                        # row 121: same number as row 120
    rows[139][1] = "1440-123"                          # row 141: not digits
    rows[159][4], rows[159][5] = "active", ""          # row 161: active without activation date
    rows[169][4] = "lost"                              # row 171: unknown status
    rows[179][5] = "2024-13-01"                        # row 181: not a date
    resp = upload(ops, URL, csv_bytes(SIM_HEADERS, rows), "sims.csv")
    assert resp.status_code == 422
    found = {(r["row"], r["column"]) for r in resp.json["rows"]}
    assert found == {
        (6, "iccid"), (21, "iccid"), (41, "carrier"), (61, "plan"), (81, "plan"), (101, "iccid"), (121, "msisdn"),
        (141, "msisdn"), (161, "activated_on"), (171, "status"), (181, "activated_on"),
    }
    messages = {r["row"]: r["message"] for r in resp.json["rows"]}
    assert "Luhn" in messages[6] and "China Mobile" in messages[41] and "row 100" in messages[101]
    assert "11 rows" in resp.json["message"] or "11 row(s)" in resp.json["message"]
    assert ops.get("/api/sims").json["total"] == 0


def test_chinese_headers_in_xlsx_and_the_carrier_column_optional(ops, plans):
    rows = [[iccid(1), msisdn(1), "中国移动", "CM-IOT-3G", "激活", "2024/5/1"],
            [iccid(2, prefix="898606"), msisdn(2), "", "CU-1G", "", None]]
    resp = upload(ops, URL, xlsx_bytes(SIM_HEADERS_ZH, rows), "卡.xlsx")
    assert resp.status_code == 201, resp.json
    sims = {s["msisdn"]: s for s in ops.get("/api/sims").json["items"]}
    assert (sims[msisdn(1)]["status"], sims[msisdn(1)]["activated_on"], sims[msisdn(1)]["plan"]["code"]) == ("active", "2024-05-01", "CM-IOT-3G")
    assert (sims[msisdn(2)]["carrier"], sims[msisdn(2)]["status"]) == ("china_unicom", "in_stock")


def test_only_the_required_columns_are_needed_and_a_missing_one_is_named(ops, plans):
    body = "898607" + "3" * 12
    rows = [[iccid(1), msisdn(1), "CM-IOT-1G"], [body + check_digit(body), msisdn(2), "CM-IOT-1G"]]
    resp = upload(ops, URL, csv_bytes(["ICCID", "号码", "套餐"], rows), "sims.csv")
    assert resp.status_code == 201 and resp.json["created"] == 2
    resp = upload(ops, URL, csv_bytes(["iccid", "msisdn"], [r[:2] for r in rows]), "sims.csv")
    assert resp.status_code == 422 and resp.json["rows"] == [{"row": 1, "column": "plan", "message": "Missing column 'plan'."}]


def test_a_sim_already_registered_with_other_values_is_a_row_error(ops, plans):
    upload(ops, URL, csv_bytes(SIM_HEADERS, sim_rows(5)), "first.csv")
    rows = sim_rows(6, start=2)                        # SIMs 2-5 registered, 6 and 7 new
    rows[0][3] = "CM-IOT-3G"                          # row 2: SIM 2 on another plan
    rows[1][1] = msisdn(99)                            # row 3: SIM 3 with another number
    rows[5][1] = msisdn(1)                             # row 7: new SIM 7 with SIM 1's number
    resp = upload(ops, URL, csv_bytes(SIM_HEADERS, rows), "second.csv")
    assert resp.status_code == 422
    messages = {(r["row"], r["column"]): r["message"] for r in resp.json["rows"]}
    assert set(messages) == {(2, "iccid"), (3, "iccid"), (7, "msisdn")}
    assert "(plan)" in messages[(2, "iccid")] and "msisdn" in messages[(3, "iccid")]
    assert iccid(1) in messages[(7, "msisdn")]
    assert ops.get("/api/sims").json["total"] == 5


def test_a_sim_activated_since_registration_is_unchanged_when_the_file_has_no_status(ops, plans):
    rows = [r[:4] for r in sim_rows(3, start=1)]
    upload(ops, URL, csv_bytes(SIM_HEADERS[:4], rows), "sims.csv")
    sim = ops.get("/api/sims").json["items"][0]
    ops.patch(f"/api/sims/{sim['id']}", json={"status": "active", "activated_on": "2024-06-01"})
    resp = upload(ops, URL, csv_bytes(SIM_HEADERS[:4], rows), "sims.csv")
    assert resp.status_code == 201 and resp.json == {"created": 0, "unchanged": 3}
    assert ops.get(f"/api/sims/{sim['id']}").json["status"] == "active"


def test_an_empty_or_wrong_file_is_refused(ops, plans):
    resp = upload(ops, URL, csv_bytes(SIM_HEADERS, []), "sims.csv")
    assert resp.status_code == 422 and "file" in resp.json["errors"]
    resp = upload(ops, URL, b"not a workbook", "sims.xlsx")
    assert resp.status_code == 422 and "file" in resp.json["errors"]
    resp = ops.post(URL, data={}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "file" in resp.json["errors"]
