"""Uploading carrier statements: English and Chinese headers, encodings, XLSX, bad rows, carriers, versions, storage."""
import io
import random
import uuid
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from sqlalchemy import func, select

from insurer_dms import luhn
from insurer_dms.activity import Activity
from insurer_dms.extensions import db
from insurer_dms.sims.models import Statement, StatementLine
from insurer_dms.sims.statement_file import MAX_LISTED, luhn_ok, normalise_period
from insurer_dms.storage import make_storage, storage
from tests.factories import csv_bytes, upload, xlsx_bytes
from tests.install_factories import bad_iccid, iccid

URL = "/api/statements"
SAMPLES = Path("/work/shared/samples")
EN = ["iccid", "msisdn", "period", "data_kb", "sms_count", "plan_fee", "overage_fee", "total_fee"]
ZH = ["ICCID", "号码", "账期", "使用流量(KB)", "短信(条)", "套餐费(元)", "超套费(元)", "合计(元)"]


@pytest.fixture(autouse=True)
def no_statement_objects(app):
    """The local object store is shared by the session: start each test without statement files."""
    with app.app_context():
        for key in storage().list("statements/"):
            storage().delete(key)


def sample(lang):
    path = SAMPLES / f"statement-china_mobile-2026-09-{lang}.csv"
    if not path.exists():
        pytest.skip(f"sample {path} is not on this machine")
    return path.read_bytes()


def lines(count, period="2026-09", prefix="898600", start=1):
    """``count`` good statement rows (EN column order): plan 20.00, 1.50 overage on every third line."""
    rows = []
    for n in range(start, start + count):
        over = "1.50" if n % 3 == 0 else "0.00"
        total = f"{Decimal('20.00') + Decimal(over):.2f}"
        rows.append([iccid(n, prefix), f"1440{n:09d}", period, str(1000 * n), str(n % 7), "20.00", over, total])
    return rows


def stored_counts(app):
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Statement)),
                db.session.scalar(select(func.count()).select_from(StatementLine)))


def line_rows(app, statement_id):
    with app.app_context():
        return db.session.execute(
            select(StatementLine.row_no, StatementLine.iccid, StatementLine.msisdn, StatementLine.data_kb, StatementLine.sms_count,
                   StatementLine.plan_fee, StatementLine.overage_fee, StatementLine.total_fee)
            .where(StatementLine.statement_id == statement_id).order_by(StatementLine.row_no)
        ).all()


# ---------------------------------------------------------------- good files


def test_english_sample_is_stored_with_every_line_and_the_raw_file(app, ops):
    data = sample("en")
    resp = upload(ops, URL, data, "statement-en.csv")
    assert resp.status_code == 202, resp.json
    body = resp.json
    assert (body["carrier"], body["period"], body["version"], body["line_count"]) == ("china_mobile", "2026-09", 1, 39)
    assert body["billed_total"] == "928.50"
    assert body["status"] in ("queued", "running", "done", "failed")  # the reconciliation is not this test's business
    assert body["object_key"] == f"statements/china_mobile/2026-09/v1-{body['sha256'][:12]}.csv"
    first = line_rows(app, body["id"])[0]
    assert first == (2, "89860000000100000315", "1440000000031", 945006, 19, Decimal("10.00"), Decimal("0.00"), Decimal("10.00"))
    with app.app_context():
        assert storage().get(body["object_key"]) == data
        assert [a.action for a in db.session.scalars(select(Activity).where(Activity.entity_type == "statement"))] == ["create"]


def test_chinese_headers_saved_with_a_bom_give_the_same_lines(app, ops):
    en = upload(ops, URL, sample("en"), "en.csv").json
    zh = upload(ops, URL, sample("zh"), "zh.csv").json
    assert zh["line_count"] == 39 and zh["billed_total"] == en["billed_total"]
    assert zh["version"] == 2  # a different file for the same month
    assert [r[1:] for r in line_rows(app, zh["id"])] == [r[1:] for r in line_rows(app, en["id"])]


def test_gb18030_file_with_chinese_headers_is_read(app, ops):
    text = csv_bytes(ZH, lines(5)).decode("utf-8")
    resp = upload(ops, URL, text.encode("gb18030"), "账单.csv")
    assert resp.status_code == 202, resp.json
    assert resp.json["line_count"] == 5


def test_a_csv_with_quoted_cells_gives_the_same_lines_as_a_plain_one(app, ops):
    """Files without quotes are read line by line, others by the csv module: both give the same lines and errors."""
    rows = lines(4)
    rows.insert(2, [""] * 8)  # a blank row keeps its number
    plain = csv_bytes(EN, rows)
    quoted = plain.decode().replace("\r\n", "\n")
    quoted = "\n".join(",".join(f'"{c}"' for c in line.split(",")) for line in quoted.split("\n") if line) + "\n"
    first = upload(ops, URL, plain, "plain.csv").json
    second = upload(ops, URL, quoted.encode(), "quoted.csv").json
    assert (first["line_count"], first["billed_total"]) == (second["line_count"], second["billed_total"]) == (4, "81.50")
    assert line_rows(app, second["id"]) == line_rows(app, first["id"])
    assert [r.row_no for r in line_rows(app, first["id"])] == [2, 3, 5, 6]
    bad = [r[:] for r in lines(3, start=20)]
    bad[1][3] = "12,5"  # a comma inside a quoted cell: one cell, not a whole number
    resp = upload(ops, URL, csv_bytes(EN, bad), "bad.csv")
    assert resp.status_code == 422
    assert [(r["row"], r["column"]) for r in resp.json["rows"]] == [(3, "data_kb")]


def test_xlsx_statement_with_typed_cells_is_read(app, ops):
    rows = [[r[0], int(r[1]), r[2], int(r[3]), int(r[4]), float(r[5]), float(r[6]), float(r[7])] for r in lines(6)]
    rows.insert(2, [None] * 8)  # a blank row is skipped; row numbers stay the spreadsheet's
    resp = upload(ops, URL, xlsx_bytes(ZH, rows), "statement.xlsx")
    assert resp.status_code == 202, resp.json
    assert resp.json["line_count"] == 6 and resp.json["billed_total"] == "123.00"
    assert resp.json["object_key"].endswith(".xlsx")
    assert [r.row_no for r in line_rows(app, resp.json["id"])] == [2, 3, 5, 6, 7, 8]
    assert line_rows(app, resp.json["id"])[2][5:] == (Decimal("20.00"), Decimal("1.50"), Decimal("21.50"))


def test_quote_free_and_quoted_files_store_the_same_lines_and_repeats(app, ops):
    """A quote-free file is read line by line with one regex per line; quoting the same cells sends it through the
    csv module: both store the very same lines, missing MSISDNs and repeated ICCIDs."""
    rows = lines(300)
    for n in (10, 120, 299):
        rows[n][1] = ""  # no MSISDN on a few lines
    rows += [rows[5][:], rows[250][:], rows[5][:]]  # repeated ICCIDs: rows 302, 303, 304 repeat rows 7, 252, 7
    plain = csv_bytes(EN, rows)
    quoted = "".join(",".join(f'"{c}"' for c in line.split(",")) + "\n" for line in plain.decode().splitlines()).encode()
    fast, by_csv = upload(ops, URL, plain, "plain.csv").json, upload(ops, URL, quoted, "quoted.csv").json
    assert (fast["line_count"], fast["billed_total"]) == (by_csv["line_count"], by_csv["billed_total"])
    with app.app_context():
        def stored(statement_id):
            return db.session.execute(select(
                StatementLine.row_no, StatementLine.iccid, StatementLine.msisdn, StatementLine.data_kb,
                StatementLine.sms_count, StatementLine.plan_fee, StatementLine.overage_fee, StatementLine.total_fee,
                StatementLine.first_row).where(StatementLine.statement_id == statement_id)
                .order_by(StatementLine.row_no)).all()
        assert stored(fast["id"]) == stored(by_csv["id"])
        assert len(stored(fast["id"])) == 303
        assert [(r.row_no, r.first_row) for r in stored(fast["id"]) if r.first_row] == [(302, 7), (303, 252), (304, 7)]
        assert {r.msisdn for r in stored(fast["id"]) if r.row_no in (12, 122, 301)} == {None}


@pytest.mark.parametrize("kind", ["plain", "quoted", "xlsx"])
def test_a_repeated_iccid_is_noted_with_its_first_row_as_the_file_streams(app, ops, kind):
    """The reconciliation's duplicate_line comes from this note: the earlier row with the same ICCID."""
    rows = lines(4)
    rows.insert(3, [""] * 8)  # a blank row keeps its number (row 5)
    rows += [rows[1][:], rows[0][:], rows[1][:]]  # rows 7, 8, 9 repeat rows 3, 2, 3
    rows[-1][0] = " " + rows[-1][0]  # a stray space: the same ICCID after the slow path strips it
    if kind == "xlsx":
        data, name = xlsx_bytes(EN, [r if any(r) else [None] * 8 for r in rows]), "s.xlsx"
    else:
        data, name = csv_bytes(EN, rows), "s.csv"
        if kind == "quoted":
            data = "".join(",".join(f'"{c}"' for c in line.split(",")) + "\n" for line in data.decode().splitlines()).encode()
    resp = upload(ops, URL, data, name)
    assert resp.status_code == 202, resp.json
    with app.app_context():
        noted = db.session.execute(select(StatementLine.row_no, StatementLine.first_row).where(
            StatementLine.statement_id == resp.json["id"]).order_by(StatementLine.row_no)).all()
    assert noted == [(2, None), (3, None), (4, None), (6, None), (7, 3), (8, 2), (9, 3)]


def test_period_spellings_and_absent_optional_columns_are_accepted(app, ops):
    rows = [[r[0], "202609" if i % 2 else "2026年9月", r[3], r[5], r[6], r[7]] for i, r in enumerate(lines(4))]
    resp = upload(ops, URL, csv_bytes(["iccid", "period", "data_kb", "plan_fee", "overage_fee", "total_fee"], rows), "s.csv")
    assert resp.status_code == 202, resp.json
    assert resp.json["period"] == "2026-09"
    assert {(r.msisdn, r.sms_count) for r in line_rows(app, resp.json["id"])} == {(None, 0)}


def test_carrier_is_inferred_from_the_iccid_issuer_prefix(ops):
    resp = upload(ops, URL, csv_bytes(EN, lines(3, prefix="898601")), "unicom.csv")
    assert resp.status_code == 202 and resp.json["carrier"] == "china_unicom"


def test_declared_carrier_is_kept(ops):
    resp = ops.post(URL, data={"file": (io.BytesIO(csv_bytes(EN, lines(3, prefix="898611"))), "t.csv"), "carrier": "china_telecom"},
                    content_type="multipart/form-data")
    assert resp.status_code == 202 and resp.json["carrier"] == "china_telecom"


# ---------------------------------------------------------------- refusals: nothing stored


def test_every_bad_row_is_listed_and_nothing_is_stored(app, ops):
    rows = lines(80)
    rows[3][2] = "2026-08"  # row 5: another month
    rows[15][0] = bad_iccid(16)  # row 17: Luhn check digit wrong
    rows[28][0] = rows[28][0][:18]  # row 30: 18 digits
    rows[42][3] = "12a"  # row 44: data_kb not a number
    rows[58][6] = "-1.00"  # row 60: negative overage
    rows[59][7] = "abc"  # row 61: total not an amount
    rows[60][5] = "10.005"  # row 62: three decimals
    rows[61][1] = "1440"  # row 63: MSISDN too short
    rows[62][4] = "-3"  # row 64: negative SMS count
    resp = upload(ops, URL, csv_bytes(EN, rows), "bad.csv")
    assert resp.status_code == 422
    assert resp.json["message"].startswith("9 row(s) are invalid; nothing was imported.")
    assert [(r["row"], r["column"]) for r in resp.json["rows"]] == [
        (5, "period"), (17, "iccid"), (30, "iccid"), (44, "data_kb"), (60, "overage_fee"), (61, "total_fee"),
        (62, "plan_fee"), (63, "msisdn"), (64, "sms_count"),
    ]
    messages = {r["row"]: r["message"] for r in resp.json["rows"]}
    assert "2026-08 differs from the statement's period 2026-09" in messages[5]
    assert "Luhn" in messages[17] and "19 or 20 digits" in messages[30]
    assert "negative" in messages[60] and "negative" in messages[64]
    assert stored_counts(app) == (0, 0)
    with app.app_context():
        assert storage().list("statements/") == []


def test_chinese_header_names_the_bad_column(ops):
    rows = lines(3)
    rows[1][5] = "十元"
    resp = upload(ops, URL, csv_bytes(ZH, rows), "zh.csv")
    assert resp.status_code == 422
    assert resp.json["rows"] == [{"row": 3, "column": "套餐费(元)", "message": "'十元' is not an amount in yuan with at most 2 decimals."}]


def test_a_huge_number_of_bad_rows_is_capped_in_the_answer_but_counted(app, ops):
    rows = lines(MAX_LISTED + 200)
    for row in rows[1:]:
        row[2] = "2026-10"
    resp = upload(ops, URL, csv_bytes(EN, rows), "many.csv")
    assert resp.status_code == 422
    assert len(resp.json["rows"]) == MAX_LISTED
    assert resp.json["message"] == (f"{MAX_LISTED + 199} row(s) are invalid; nothing was imported. "
                                    f"The first {MAX_LISTED} of {MAX_LISTED + 199} problems are listed.")
    assert stored_counts(app) == (0, 0)


def test_missing_column_is_refused_naming_it(ops):
    resp = upload(ops, URL, csv_bytes(EN[:-1], [r[:-1] for r in lines(2)]), "s.csv")
    assert resp.status_code == 422
    assert resp.json["rows"] == [{"row": 1, "column": "total_fee", "message": "Missing column 'total_fee' (合计(元))."}]


@pytest.mark.parametrize("data, filename, field", [
    (b"iccid\n", "s.txt", "file"),
    (csv_bytes(EN, []), "s.csv", "file"),
    (b"not a zip", "s.xlsx", "file"),
    ("ICCID,账期\n".encode("utf-16"), "s.csv", "file"),
])
def test_unusable_files_are_refused_with_422(ops, data, filename, field):
    resp = upload(ops, URL, data, filename)
    assert resp.status_code == 422
    if field:
        assert field in resp.json["errors"]


def test_declared_carrier_that_did_not_issue_the_iccids_is_refused(app, ops):
    resp = ops.post(URL, data={"file": (io.BytesIO(csv_bytes(EN, lines(3))), "s.csv"), "carrier": "china_telecom"},
                    content_type="multipart/form-data")
    assert resp.status_code == 422
    assert [r["row"] for r in resp.json["rows"]] == [2, 3, 4]
    assert "issued by China Mobile, but this is China Telecom's statement" in resp.json["rows"][0]["message"]
    assert stored_counts(app) == (0, 0)


def test_lines_of_two_carriers_in_one_file_are_refused(app, ops):
    rows = lines(4) + lines(2, prefix="898601", start=10)
    resp = upload(ops, URL, csv_bytes(EN, rows), "mixed.csv")
    assert resp.status_code == 422
    assert [(r["row"], r["column"]) for r in resp.json["rows"]] == [(6, "iccid"), (7, "iccid")]
    assert stored_counts(app) == (0, 0)


def test_unknown_carrier_field_is_refused(ops):
    resp = ops.post(URL, data={"file": (io.BytesIO(csv_bytes(EN, lines(2))), "s.csv"), "carrier": "china_tietong"},
                    content_type="multipart/form-data")
    assert resp.status_code == 422 and "carrier" in resp.json["errors"]


# ---------------------------------------------------------------- same file, new versions


def test_same_file_twice_returns_the_first_statement_and_counts_nothing_twice(app, ops):
    data = csv_bytes(EN, lines(10))
    first = upload(ops, URL, data, "a.csv")
    again = upload(ops, URL, data, "renamed.csv")
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json["id"] == first.json["id"] and again.json["version"] == 1
    assert stored_counts(app) == (1, 10)


def test_new_file_for_the_same_month_supersedes_the_previous_version(app, ops):
    rows = lines(10)
    v1 = upload(ops, URL, csv_bytes(EN, rows), "september.csv").json
    rows[0][5], rows[0][7] = "10.00", "10.00"  # the carrier corrected one line
    v2 = upload(ops, URL, csv_bytes(EN, rows), "september-corrected.csv").json
    assert (v2["version"], v2["line_count"]) == (2, 10)
    assert Decimal(v1["billed_total"]) - Decimal(v2["billed_total"]) == Decimal("10.00")
    old = ops.get(f"{URL}/{v1['id']}").json
    assert old["status"] == "superseded" and old["superseded_by"] == v2["id"]
    assert ops.get(f"{URL}/{v2['id']}").json["superseded_by"] is None
    assert stored_counts(app) == (2, 20)
    with app.app_context():
        assert storage().exists(v1["object_key"]) and storage().exists(v2["object_key"])
        assert v1["object_key"] != v2["object_key"]
        actions = db.session.scalars(select(Activity.action).where(Activity.entity_type == "statement", Activity.entity_id == str(v1["id"]))).all()
        assert actions[0] == "create" and actions[-1].endswith("->superseded")
    v3 = upload(ops, URL, csv_bytes(EN, lines(10, start=50)), "third.csv").json
    assert v3["version"] == 3
    assert ops.get(f"{URL}/{v2['id']}").json["superseded_by"] == v3["id"]
    assert ops.get(f"{URL}/{v1['id']}").json["superseded_by"] == v2["id"]  # history kept as it was


def test_other_month_or_carrier_starts_its_own_version_one(ops):
    assert upload(ops, URL, csv_bytes(EN, lines(3)), "a.csv").json["version"] == 1
    assert upload(ops, URL, csv_bytes(EN, lines(3, period="2026-10")), "b.csv").json["version"] == 1
    assert upload(ops, URL, csv_bytes(EN, lines(3, prefix="898603")), "c.csv").json["version"] == 1


# ---------------------------------------------------------------- object storage on S3


@pytest.fixture
def s3_store(app, s3_server):
    """The app's object store swapped for a fresh bucket on the moto server (real boto3 over HTTP)."""
    bucket = f"idms-stmt-{uuid.uuid4().hex[:10]}"
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "S3_REGION": "us-east-1"}
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=bucket)
    previous = app.extensions["insurer_dms.storage"]
    app.extensions["insurer_dms.storage"] = make_storage({"S3_BUCKET": bucket, "S3_ENDPOINT_URL": s3_server, **creds})
    yield app.extensions["insurer_dms.storage"]
    app.extensions["insurer_dms.storage"] = previous


def test_raw_file_is_kept_in_s3(s3_store, ops):
    data = xlsx_bytes(EN, lines(4))
    body = upload(ops, URL, data, "statement.xlsx").json
    assert s3_store.list("statements/") == [body["object_key"]]
    assert s3_store.get(body["object_key"]) == data


# ---------------------------------------------------------------- reading statements


def test_statements_are_listed_with_filters(ops):
    a = upload(ops, URL, csv_bytes(EN, lines(3)), "a.csv").json
    b = upload(ops, URL, csv_bytes(EN, lines(3, start=9)), "b.csv").json
    c = upload(ops, URL, csv_bytes(EN, lines(3, period="2026-10", prefix="898601")), "c.csv").json
    everything = ops.get(URL).json
    assert everything["total"] == 3 and [s["id"] for s in everything["items"]] == [c["id"], b["id"], a["id"]]
    assert [s["id"] for s in ops.get(f"{URL}?carrier=china_mobile").json["items"]] == [b["id"], a["id"]]
    assert [s["id"] for s in ops.get(f"{URL}?period=2026-10").json["items"]] == [c["id"]]
    assert [s["id"] for s in ops.get(f"{URL}?status=superseded").json["items"]] == [a["id"]]
    assert ops.get(f"{URL}?page_size=1&page=2").json["items"][0]["id"] == b["id"]
    bad = ops.get(f"{URL}?period=2026-13&status=lost")
    assert bad.status_code == 422 and {"period", "status"} <= set(bad.json["errors"])


def test_unknown_statement_is_404(ops):
    assert ops.get(f"{URL}/999").status_code == 404


# ---------------------------------------------------------------- who may

ENDPOINTS = [("get", URL), ("post", URL), ("get", f"{URL}/1"), ("post", f"{URL}/sweep")]


@pytest.mark.parametrize("method, url", ENDPOINTS)
def test_anonymous_callers_get_401(anon, method, url):
    assert getattr(anon, method)(url).status_code == 401


@pytest.mark.parametrize("method, url", ENDPOINTS)
def test_contractors_and_reviewers_get_403(contractor, reviewer, method, url):
    assert getattr(contractor, method)(url).status_code == 403
    assert getattr(reviewer, method)(url).status_code == 403


# ---------------------------------------------------------------- the cheap checks agree with the rules


def test_fast_luhn_agrees_with_the_reference_implementation():
    rnd = random.Random(7)
    for _ in range(2000):
        digits = "8986" + "".join(rnd.choice("0123456789") for _ in range(rnd.choice((15, 16))))
        assert luhn_ok(digits) == luhn.is_valid(digits), digits


@pytest.mark.parametrize("text, month", [
    ("2026-09", "2026-09"), ("202609", "2026-09"), ("2026/9", "2026-09"), ("2026年9月", "2026-09"),
    ("2026-09-01", "2026-09"), ("2026-09-01 00:00:00", "2026-09"), ("2026-13", None), ("Sept", None), ("", None),
])
def test_period_spellings(text, month):
    assert normalise_period(text) == month


def test_file_without_a_single_usable_row_lists_every_row(app, ops):
    rows = [[bad_iccid(n), "", "Sept", "1", "0", "1.00", "0.00", "1.00"] for n in range(1, MAX_LISTED + 6)]
    resp = upload(ops, URL, csv_bytes(EN, rows), "garbage.csv")
    assert resp.status_code == 422
    assert resp.json["message"].startswith(f"{MAX_LISTED + 5} row(s) are invalid")  # none lost past the first rows read
    assert stored_counts(app) == (0, 0)


def test_blank_file_body_has_no_data_rows(ops):
    resp = upload(ops, URL, csv_bytes(EN, [[""] * 8, []]), "blank.csv")
    assert resp.status_code == 422 and resp.json["errors"] == {"file": ["The file has no data rows."]}
