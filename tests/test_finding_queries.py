"""A reviewer's query on a published finding: raised, answered by operations with an attachment, closed as accepted or
upheld (the refund written to the ledger), every step in the activity trail, and every illegal move refused."""
import datetime as dt
import hashlib
import io
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import boto3
import pytest
from sqlalchemy import select

from insurer_dms.activity import history
from insurer_dms.audits.models import FindingQuery
from insurer_dms.extensions import db
from insurer_dms.ledger.models import LedgerEntry
from insurer_dms.storage import make_storage
from tests import audit_query_factories as aq
from tests.install_factories import photo_jpeg

SHANGHAI = ZoneInfo("Asia/Shanghai")
STORAGE = "insurer_dms.storage"


def sample_pdf(text="Renewal pricing explained"):
    """A small but well-formed one-page PDF."""
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n% " + text.encode() + b"\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def sample_xlsx():
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["policy", "autonomous_coefficient"])
    book.active.append(["PDAA-1", 1.1])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def sample_png():
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def finding(ctx):
    return aq.published_finding()


def raise_on(reviewer, finding, question="Why did the autonomous coefficient rise from 1.00 to 1.10?"):
    return reviewer.post(f"/api/audits/{finding.audit_id}/findings/{finding.id}/queries", json={"question": question})


def answer(ops, query_id, text="The rise follows the insurer's 2024 tariff filing for all heavy trucks.", file=None):
    data = {"answer": text}
    if file is not None:
        data["attachment"] = (io.BytesIO(file[0]), file[1])
    return ops.post(f"/api/queries/{query_id}/answer", data=data, content_type="multipart/form-data")


def answered(reviewer, ops, finding, file=None):
    query_id = raise_on(reviewer, finding).json["id"]
    assert answer(ops, query_id, file=file).status_code == 200
    return query_id


def close(reviewer, query_id, verdict, **body):
    return reviewer.post(f"/api/queries/{query_id}/close", json={"verdict": verdict, **body})


def refund_entries():
    db.session.expire_all()
    return db.session.scalars(select(LedgerEntry).where(LedgerEntry.category == "premium_refund")).all()


# ---- raising -------------------------------------------------------------------------------------------------


def test_reviewer_raises_a_query_on_a_published_finding(reviewer, finding):
    resp = raise_on(reviewer, finding)

    assert resp.status_code == 201, resp.json
    assert resp.json["state"] == "open"
    assert resp.json["finding_id"] == finding.id and resp.json["audit_id"] == finding.audit_id
    assert resp.json["raised_by"] == "reviewer@nfra.example.com"
    assert resp.json["answer"] is None and resp.json["attachment"] is None


def test_a_finding_takes_one_open_query_at_a_time(reviewer, ops, finding):
    first = raise_on(reviewer, finding).json["id"]
    assert raise_on(reviewer, finding).status_code == 409
    answer(ops, first)
    assert raise_on(reviewer, finding).status_code == 409  # answered is still pending the verdict

    close(reviewer, first, "accepted", note="Explained by the tariff filing.")
    again = raise_on(reviewer, finding, "The filing is dated after the renewal; please explain.")
    assert again.status_code == 201, again.json


def test_an_upheld_finding_takes_no_new_query(reviewer, ops, finding):
    query_id = answered(reviewer, ops, finding)
    close(reviewer, query_id, "upheld", note="Not explained.", refund_amount="918.00")

    resp = raise_on(reviewer, finding)
    assert resp.status_code == 409
    assert "upheld" in resp.json["message"]


def test_the_database_refuses_a_second_open_query_raised_at_the_same_moment(reviewer, finding, monkeypatch):
    from insurer_dms.audits import queries

    assert raise_on(reviewer, finding).status_code == 201
    monkeypatch.setattr(queries, "raise_refusal", lambda finding: None)  # as if both checks ran before either commit
    resp = raise_on(reviewer, finding)
    assert resp.status_code == 409 and list(resp.json["errors"]) == ["finding"]
    if db.engine.dialect.name == "postgresql":  # the words of the check (SQLite does not say which finding)
        assert resp.json["message"] == "This finding already has query 1 (open); it must be closed before another is raised."


def test_a_query_needs_a_question(reviewer, finding):
    resp = raise_on(reviewer, finding, "   ")
    assert resp.status_code == 422
    assert "question" in resp.json["errors"]


def test_findings_of_draft_reports_cannot_be_queried(reviewer, ctx):
    draft = aq.draft_finding()
    resp = raise_on(reviewer, draft)
    assert resp.status_code == 404
    assert db.session.scalar(select(FindingQuery.id)) is None


def test_a_finding_must_belong_to_the_audit_named_in_the_url(reviewer, ctx):
    one, other = aq.published_finding(), aq.published_finding()
    resp = reviewer.post(f"/api/audits/{other.audit_id}/findings/{one.id}/queries", json={"question": "Why?"})
    assert resp.status_code == 404


def test_only_reviewers_raise_and_close_and_only_operations_answer(reviewer, ops, contractor, finding):
    assert raise_on(ops, finding).status_code == 403
    assert raise_on(contractor, finding).status_code == 403
    query_id = raise_on(reviewer, finding).json["id"]
    assert answer(reviewer, query_id).status_code == 403
    assert answer(contractor, query_id).status_code == 403
    answer(ops, query_id)
    assert close(ops, query_id, "accepted").status_code == 403
    assert contractor.get(f"/api/queries/{query_id}").status_code == 403
    assert contractor.get("/api/queries").status_code == 403


# ---- answering -----------------------------------------------------------------------------------------------


@pytest.fixture
def s3_store(app, s3_server):
    """The app's object store swapped for a fresh bucket on the moto server."""
    bucket = f"idms-queries-{uuid.uuid4().hex[:10]}"
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "S3_REGION": "us-east-1"}
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=bucket)
    previous = app.extensions[STORAGE]
    app.extensions[STORAGE] = make_storage({"S3_BUCKET": bucket, "S3_ENDPOINT_URL": s3_server, **creds})
    yield app.extensions[STORAGE]
    app.extensions[STORAGE] = previous


@pytest.fixture(params=["local", "s3"])
def store(request, app):
    return request.getfixturevalue("s3_store") if request.param == "s3" else app.extensions[STORAGE]


def test_operations_answer_with_a_pdf_kept_in_storage_with_its_sha256(reviewer, ops, finding, store):
    pdf = sample_pdf()
    query_id = raise_on(reviewer, finding).json["id"]

    resp = answer(ops, query_id, file=(pdf, "说明 2024.pdf"))

    assert resp.status_code == 200, resp.json
    assert resp.json["state"] == "answered"
    assert resp.json["answered_by"] == "ops@example.com"
    attachment = resp.json["attachment"]
    assert attachment["name"] == "说明 2024.pdf"
    assert attachment["content_type"] == "application/pdf"
    assert attachment["size"] == len(pdf)
    assert attachment["sha256"] == hashlib.sha256(pdf).hexdigest()
    stored = db.session.get(FindingQuery, query_id)
    assert store.get(stored.attachment_key) == pdf
    for client in (reviewer, ops):
        download = client.get(attachment["url"])
        assert download.status_code == 200
        assert download.data == pdf
        assert download.mimetype == "application/pdf"
        assert download.headers["ETag"] == f'"{attachment["sha256"]}"'
        assert "filename*=UTF-8''%E8%AF%B4%E6%98%8E%202024.pdf" in download.headers["Content-Disposition"]


@pytest.mark.parametrize("make, filename, content_type, stored_name", [
    (sample_xlsx, "premium-factors.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "premium-factors.xlsx"),
    (sample_png, "screenshot.png", "image/png", "screenshot.png"),
    (lambda: photo_jpeg(dt.datetime(2024, 8, 1, 9, 0, tzinfo=SHANGHAI)), "scan", "image/jpeg", "scan.jpg"),
    (sample_pdf, "pricing.exe", "application/pdf", "pricing.exe.pdf"),  # the type comes from the bytes
])
def test_pdf_jpeg_png_and_xlsx_attachments_are_accepted_by_their_content(reviewer, ops, finding, make, filename, content_type, stored_name):
    query_id = raise_on(reviewer, finding).json["id"]
    resp = answer(ops, query_id, file=(make(), filename))
    assert resp.status_code == 200, resp.json
    assert resp.json["attachment"]["content_type"] == content_type
    assert resp.json["attachment"]["name"] == stored_name


@pytest.mark.parametrize("data, filename", [
    (b"MZ\x90\x00 an executable", "explanation.pdf"),
    (b"%PDF-1.4\n1 0 obj<<>>endobj\n", "truncated.pdf"),  # no %%EOF: does not open
    (b"PK\x03\x04 not really a zip", "book.xlsx"),
    (b"plain words", "note.txt"),
])
def test_an_attachment_that_is_not_a_pdf_image_or_workbook_is_refused(reviewer, ops, finding, data, filename):
    query_id = raise_on(reviewer, finding).json["id"]
    resp = answer(ops, query_id, file=(data, filename))
    assert resp.status_code == 422
    assert list(resp.json["errors"]) == ["attachment"]
    assert reviewer.get(f"/api/queries/{query_id}").json["state"] == "open"


def test_an_attachment_over_the_size_limit_is_refused_and_not_stored(app, reviewer, ops, finding):
    query_id = raise_on(reviewer, finding).json["id"]
    stored_before = app.extensions[STORAGE].list("queries/")
    app.config["QUERY_ATTACHMENT_MAX_BYTES"] = 1024 * 1024
    try:
        resp = answer(ops, query_id, file=(sample_pdf("x" * (1024 * 1024)), "big.pdf"))
    finally:
        app.config["QUERY_ATTACHMENT_MAX_BYTES"] = 10 * 1024 * 1024
    assert resp.status_code == 422
    assert resp.json["errors"]["attachment"] == ["An attachment must be between 1 byte and 1 MB."]
    assert app.extensions[STORAGE].list("queries/") == stored_before


def test_an_answer_needs_the_explanation(reviewer, ops, finding):
    query_id = raise_on(reviewer, finding).json["id"]
    resp = answer(ops, query_id, text=" ", file=(sample_pdf(), "a.pdf"))
    assert resp.status_code == 422
    assert "answer" in resp.json["errors"]


def test_an_answer_without_attachment_has_none_to_download(reviewer, ops, finding):
    query_id = answered(reviewer, ops, finding)
    assert reviewer.get(f"/api/queries/{query_id}").json["attachment"] is None
    assert reviewer.get(f"/api/queries/{query_id}/attachment").status_code == 404


def test_an_attachment_altered_in_storage_is_not_served(app, reviewer, ops, finding):
    query_id = answered(reviewer, ops, finding, file=(sample_pdf(), "a.pdf"))
    key = db.session.get(FindingQuery, query_id).attachment_key
    app.extensions[STORAGE].put(key, sample_pdf("something else"))
    assert reviewer.get(f"/api/queries/{query_id}/attachment").status_code == 409


# ---- closing -------------------------------------------------------------------------------------------------


def test_accepted_query_writes_nothing_to_the_ledger(reviewer, ops, finding):
    query_id = answered(reviewer, ops, finding)

    resp = close(reviewer, query_id, "accepted", note="Explained.")

    assert resp.status_code == 200, resp.json
    assert resp.json["state"] == "accepted"
    assert resp.json["refund_amount"] is None and resp.json["ledger_entry_id"] is None
    assert resp.json["closed_by"] == "reviewer@nfra.example.com"
    assert refund_entries() == []


def test_upheld_query_records_the_refund_owed_to_the_operator_in_the_ledger(reviewer, ops, finding):
    query_id = answered(reviewer, ops, finding)

    resp = close(reviewer, query_id, "upheld", note="The rise is not explained by cover, claims or violations.", refund_amount="918.00")

    assert resp.status_code == 200, resp.json
    assert resp.json["state"] == "upheld"
    assert resp.json["refund_amount"] == "918.00"
    [entry] = refund_entries()
    assert resp.json["ledger_entry_id"] == entry.id
    assert entry.amount == Decimal("918.00")
    assert entry.truck_id == finding.truck_id
    assert (entry.source_type, entry.source_id) == ("finding_query", str(query_id))
    closed_at = dt.datetime.fromisoformat(resp.json["closed_at"]).astimezone(SHANGHAI)
    assert entry.period == f"{closed_at.year:04d}-{closed_at.month:02d}"


def test_the_refund_may_differ_from_the_excess_premium(reviewer, ops, finding):
    query_id = answered(reviewer, ops, finding)
    resp = close(reviewer, query_id, "upheld", note="Half of the rise is unexplained.", refund_amount="459.5")
    assert resp.status_code == 200
    assert [e.amount for e in refund_entries()] == [Decimal("459.50")]


@pytest.mark.parametrize("body, field", [
    ({"note": "Not explained."}, "refund_amount"),
    ({"note": "Not explained.", "refund_amount": "0"}, "refund_amount"),
    ({"note": "Not explained.", "refund_amount": "-918.00"}, "refund_amount"),
    ({"note": "Not explained.", "refund_amount": "918.005"}, "refund_amount"),
    ({"note": "Not explained.", "refund_amount": "a lot"}, "refund_amount"),
    ({"refund_amount": "918.00"}, "note"),
])
def test_upholding_needs_a_note_and_a_positive_refund_in_fen(reviewer, ops, finding, body, field):
    query_id = answered(reviewer, ops, finding)
    resp = close(reviewer, query_id, "upheld", **body)
    assert resp.status_code == 422
    assert field in resp.json["errors"]
    assert reviewer.get(f"/api/queries/{query_id}").json["state"] == "answered"
    assert refund_entries() == []


def test_accepting_takes_no_refund(reviewer, ops, finding):
    query_id = answered(reviewer, ops, finding)
    resp = close(reviewer, query_id, "accepted", refund_amount="10.00")
    assert resp.status_code == 422
    assert "refund_amount" in resp.json["errors"]


def test_an_unknown_verdict_is_refused(reviewer, ops, finding):
    query_id = answered(reviewer, ops, finding)
    assert close(reviewer, query_id, "dismissed").status_code == 422


# ---- the state machine ---------------------------------------------------------------------------------------


def test_an_open_query_cannot_be_closed_before_it_is_answered(reviewer, finding):
    query_id = raise_on(reviewer, finding).json["id"]
    resp = close(reviewer, query_id, "upheld", note="No answer.", refund_amount="918.00")
    assert resp.status_code == 409
    assert "not been answered" in resp.json["message"]


def test_an_answered_query_is_not_answered_twice(reviewer, ops, finding):
    query_id = answered(reviewer, ops, finding)
    assert answer(ops, query_id, text="A second explanation").status_code == 409
    assert reviewer.get(f"/api/queries/{query_id}").json["answer"].startswith("The rise follows")


@pytest.mark.parametrize("verdict, body", [("accepted", {}), ("upheld", {"note": "Unexplained.", "refund_amount": "918.00"})])
def test_a_closed_query_is_final(reviewer, ops, finding, verdict, body):
    query_id = answered(reviewer, ops, finding)
    assert close(reviewer, query_id, verdict, **body).status_code == 200

    assert answer(ops, query_id).status_code == 409
    assert close(reviewer, query_id, "accepted").status_code == 409
    assert close(reviewer, query_id, "upheld", note="Again.", refund_amount="1.00").status_code == 409
    assert len(refund_entries()) == (1 if verdict == "upheld" else 0)


def test_unknown_queries_are_not_found(reviewer, ops):
    assert reviewer.get("/api/queries/999").status_code == 404
    assert answer(ops, 999).status_code == 404
    assert close(reviewer, 999, "accepted").status_code == 404


# ---- the trail and the lists ---------------------------------------------------------------------------------


def test_every_step_is_in_the_activity_trail_with_who_and_when(reviewer, ops, finding):
    query_id = answered(reviewer, ops, finding, file=(sample_pdf(), "a.pdf"))
    close(reviewer, query_id, "upheld", note="Unexplained rise.", refund_amount="918.00")

    trail = history("finding_query", query_id)
    assert [(a.action, a.actor) for a in trail] == [
        ("create", "reviewer@nfra.example.com"), ("answer", "ops@example.com"), ("uphold", "reviewer@nfra.example.com"),
    ]
    assert all(a.at is not None for a in trail)
    assert trail[1].after["state"] == "answered" and trail[1].after["attachment_name"] == "a.pdf"
    assert trail[2].before["state"] == "answered"
    assert trail[2].after["refund_amount"] == "918.00" and trail[2].note == "Unexplained rise."


def test_queries_are_listed_newest_first_and_filtered_by_state(reviewer, ops, ctx):
    one, two = aq.published_finding(), aq.published_finding()
    first = raise_on(reviewer, one).json["id"]
    second = answered(reviewer, ops, two)

    assert [q["id"] for q in ops.get("/api/queries").json["items"]] == [second, first]
    assert [q["id"] for q in reviewer.get("/api/queries?state=open").json["items"]] == [first]
    assert [q["id"] for q in ops.get("/api/queries?state=answered").json["items"]] == [second]
    assert [q["id"] for q in ops.get(f"/api/queries?audit_id={one.audit_id}").json["items"]] == [first]
    assert ops.get("/api/queries?state=lost").status_code == 422
