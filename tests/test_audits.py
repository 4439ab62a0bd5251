"""The no-premium-increase audit: runs over a seeded renewal history, versions, publishing, immutability, files."""
import datetime as dt
import hashlib
import io
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from insurer_dms.activity import history
from insurer_dms.audits.models import AuditFile, AuditFinding, AuditRun
from insurer_dms.extensions import db
from tests.conftest import DATABASE_URL
from tests.audit_factories import FINDING_CASES, all_findings, published_audit, run_audit, seeded_history


@pytest.fixture
def history_(ctx):
    return seeded_history()


def by_case(history, findings):
    """{case key: finding} using the seeded trucks."""
    keys = {truck_id: key for key, truck_id in history.trucks.items()}
    return {keys[f["truck_id"]]: f for f in findings}


# ---------------------------------------------------------------- what an audit finds


def test_the_audit_finds_exactly_the_renewals_raised_after_installation_with_their_excess(ops, history_):
    audit = run_audit(ops, history_)
    assert audit["status"] == "draft" and audit["version"] == 1 and audit["scope"] == "2025-07-01..2025-09-30"
    assert (audit["renewals_audited"], audit["findings_count"], audit["excess_total"]) == (9, 6, "3622.00")
    found = by_case(history_, all_findings(ops, audit["id"]))
    assert set(found) == set(FINDING_CASES) == {"autonomous_rose", "unexplained_rise", "several_factors",
                                                "compulsory_unexplained", "both_reasons", "removed_before_renewal"}
    assert {key: f["excess_premium"] for key, f in found.items()} == {
        "autonomous_rose": "850.00", "unexplained_rise": "150.00", "several_factors": "484.00",
        "compulsory_unexplained": "168.00", "both_reasons": "470.00", "removed_before_renewal": "1500.00"}
    assert found["both_reasons"]["reasons"] == ["autonomous_rose", "residual_over_tolerance"]
    assert found["compulsory_unexplained"]["product"] == "compulsory"
    # the renewal is compared with the policy just before it, not the older one (whose A was 1.20)
    assert found["autonomous_rose"]["previous_premium"] == "8500.00"
    for f in found.values():
        parts = [Decimal(f[k]) for k in ("benchmark_part", "ncd_part", "violation_part", "autonomous_part", "residual")]
        assert sum(parts) == Decimal(f["change"]) == Decimal(f["premium"]) - Decimal(f["previous_premium"])


def test_the_report_splits_by_county_and_product_and_compares_with_trucks_without_a_device(ops, history_):
    summary = run_audit(ops, history_)["summary"]
    assert summary["by_county"] == [
        {"code": "445102", "renewals": 3, "findings": 2, "excess": "1334.00"},
        {"code": "445103", "renewals": 3, "findings": 1, "excess": "168.00"},
        {"code": "445122", "renewals": 3, "findings": 3, "excess": "2120.00"},
    ]
    assert summary["by_product"] == [
        {"code": "commercial", "renewals": 8, "findings": 5, "excess": "3454.00"},
        {"code": "compulsory", "renewals": 1, "findings": 1, "excess": "168.00"},
    ]
    assert summary["by_reason"] == {"autonomous_rose": 4, "residual_over_tolerance": 3}
    # with a device: +0.10 +0.05 +0.05 -0.10 +0.15 over 9 renewals = 0.0278; without: +0.05 +0.01 over 3 = 0.0200
    assert summary["cohort"] == {
        "with_device": {"renewals": 9, "autonomous_rose": 4, "mean_autonomous_change": "0.0278"},
        "without_device": {"renewals": 3, "autonomous_rose": 2, "mean_autonomous_change": "0.0200"},
        "difference": "0.0078",
    }


def test_an_audit_of_some_counties_looks_at_their_trucks_only(ops, history_):
    audit = run_audit(ops, history_, counties=["445122"])
    assert audit["scope"] == "2025-07-01..2025-09-30 445122" and audit["counties"] == ["445122"]
    assert (audit["renewals_audited"], audit["findings_count"], audit["excess_total"]) == (3, 3, "2120.00")
    assert [row["code"] for row in audit["summary"]["by_county"]] == ["445122"]
    assert audit["summary"]["cohort"]["without_device"] == {"renewals": 1, "autonomous_rose": 1,
                                                            "mean_autonomous_change": "0.0100"}


def test_a_finding_shows_the_figures_of_both_policies(ops, history_):
    audit = run_audit(ops, history_)
    finding = by_case(history_, all_findings(ops, audit["id"]))["several_factors"]
    detail = ops.get(f"/api/audits/{audit['id']}/findings/{finding['id']}").json
    assert detail["previous_policy"] | {"id": 0, "number": "", "start_date": "", "end_date": ""} == {
        "id": 0, "number": "", "start_date": "", "end_date": "", "kind": "commercial", "premium": "8500.00",
        "benchmark_premium": "10000.00", "ncd_coefficient": "0.8500", "violation_coefficient": "1.0000",
        "autonomous_coefficient": "1.0000", "formula_premium": "8500.00", "unexplained": "0.00"}
    assert detail["policy"]["id"] == history_.renewals["several_factors"] == detail["policy_id"]
    assert (detail["policy"]["benchmark_premium"], detail["policy"]["ncd_coefficient"], detail["policy"]["violation_coefficient"],
            detail["policy"]["autonomous_coefficient"], detail["policy"]["formula_premium"], detail["policy"]["unexplained"]) == (
        "11000.00", "0.8000", "1.1000", "1.0500", "10164.00", "0.60")
    assert (detail["benchmark_part"], detail["ncd_part"], detail["violation_part"], detail["autonomous_part"],
            detail["residual"], detail["change"]) == ("850.00", "-550.00", "880.00", "484.00", "0.60", "1664.60")
    assert detail["changed_since_audit"] is False
    assert ops.get(f"/api/audits/{audit['id']}/findings/999999").status_code == 404


def test_findings_are_paged_and_filtered_by_county_and_product(ops, history_):
    audit_id = run_audit(ops, history_)["id"]
    page = ops.get(f"/api/audits/{audit_id}/findings", query_string={"page_size": 4}).json
    assert (page["total"], page["pages"], len(page["items"])) == (6, 2, 4)
    assert [f["excess_premium"] for f in page["items"]] == ["1500.00", "850.00", "484.00", "470.00"]  # largest first
    assert [f["county_code"] for f in all_findings(ops, audit_id, county_code="445103")] == ["445103"]
    assert [f["product"] for f in all_findings(ops, audit_id, product="compulsory")] == ["compulsory"]
    assert ops.get(f"/api/audits/{audit_id}/findings", query_string={"product": "life"}).status_code == 422


def test_a_period_that_ends_before_it_starts_or_a_bad_county_is_refused(ops):
    resp = ops.post("/api/audits", json={"period_from": "2025-09-30", "period_to": "2025-07-01"})
    assert resp.status_code == 422 and "period_to" in resp.json["errors"]
    resp = ops.post("/api/audits", json={"period_from": "2025-07-01", "period_to": "2025-09-30", "counties": ["44XX"]})
    assert resp.status_code == 422 and "counties.0" in resp.json["errors"]
    assert ops.get("/api/audits").json["total"] == 0


def test_running_the_same_scope_again_makes_the_next_version(ops, history_):
    first = run_audit(ops, history_)
    second = run_audit(ops, history_)
    third = ops.post(f"/api/audits/{first['id']}/rerun").json
    other = run_audit(ops, history_, counties=["445103", "445102"])
    assert [first["version"], second["version"], third["version"]] == [1, 2, 3]
    assert third["scope"] == first["scope"] and third["status"] == "draft" and third["findings_count"] == 6
    assert (other["scope"], other["version"]) == ("2025-07-01..2025-09-30 445102,445103", 1)
    listed = ops.get("/api/audits").json
    assert listed["total"] == 4 and listed["items"][0]["id"] == other["id"]  # newest first


def test_an_empty_period_is_a_draft_with_nothing_found(ops, history_):
    audit = ops.post("/api/audits", json={"period_from": "2020-01-01", "period_to": "2020-03-31"}).json
    assert (audit["status"], audit["renewals_audited"], audit["findings_count"], audit["excess_total"]) == ("draft", 0, 0, "0.00")
    assert audit["summary"]["cohort"]["difference"] is None


# ---------------------------------------------------------------- the job


def test_a_failing_run_is_recorded_with_its_reason(ops, history_, monkeypatch):
    from insurer_dms.audits import run

    def broken(*args, **kwargs):
        raise RuntimeError("policy table unreadable")

    monkeypatch.setattr(run, "renewals", broken)
    audit = run_audit(ops, history_)
    assert audit["status"] == "failed" and audit["error"] == "RuntimeError: policy table unreadable"
    assert ops.post(f"/api/audits/{audit['id']}/publish").status_code == 409


def test_the_job_run_twice_keeps_one_result(ops, history_, app):
    from jobs.audits import run_audit as job

    audit_id = run_audit(ops, history_)["id"]
    with app.app_context():
        assert job(audit_id) == {"audit_id": audit_id, "status": "draft"}
        db.session.execute(text("UPDATE audit_run SET status = 'running' WHERE id = :id"), {"id": audit_id})
        db.session.commit()  # a worker died mid-run: the next delivery computes it again from scratch
        assert job(audit_id) == {"audit_id": audit_id, "status": "draft"}
        count = db.session.scalar(select(db.func.count()).select_from(AuditFinding).where(AuditFinding.audit_id == audit_id))
    assert count == 6


def test_with_redis_down_the_run_fails_and_says_why(ops, history_, app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    audit = run_audit(ops, history_)
    assert audit["status"] == "failed" and "Redis" in audit["error"]


def test_the_audit_runs_on_a_real_worker(ops, history_, rq_worker):
    with rq_worker.configured():
        audit = run_audit(ops, history_)
    assert audit["status"] == "queued"
    rq_worker.run()
    done = ops.get(f"/api/audits/{audit['id']}").json
    assert (done["status"], done["renewals_audited"], done["findings_count"], done["excess_total"]) == ("draft", 9, 6, "3622.00")


# ---------------------------------------------------------------- publishing and the files


def test_publishing_freezes_the_report_into_three_files_whose_hashes_verify(ops, history_, app):
    audit = published_audit(ops, history_)
    assert audit["status"] == "published" and audit["published_at"] and len(audit["inputs_sha256"]) == 64
    assert sorted(f["format"] for f in audit["files"]) == ["csv", "pdf", "pdf_en", "xlsx"]
    from insurer_dms.audits.service import file_suffix
    from insurer_dms.storage import storage

    for stored in audit["files"]:
        resp = ops.get(f"/api/audits/{audit['id']}/files/{stored['format']}")
        assert resp.status_code == 200
        body = resp.get_data()
        assert hashlib.sha256(body).hexdigest() == stored["sha256"] == resp.headers["X-Content-SHA256"]
        assert len(body) == stored["size_bytes"]
        with app.app_context():
            assert storage().get(f"audits/{audit['id']}/report-v1.{file_suffix(stored['format'])}") == body
    assert ops.get(f"/api/audits/{audit['id']}/files/docx").status_code == 404


def test_a_draft_has_no_files_to_download(ops, history_):
    audit = run_audit(ops, history_)
    assert audit["files"] == []
    assert ops.get(f"/api/audits/{audit['id']}/files/pdf").status_code == 404


def test_the_inputs_hash_is_of_the_canonical_inputs(ops, history_, app):
    audit = published_audit(ops, history_)
    from insurer_dms.audits.renewals import canonical_inputs
    from insurer_dms.audits.run import scope_of, used_renewals

    with app.app_context():
        run = db.session.get(AuditRun, audit["id"])
        document = canonical_inputs(scope_of(run), used_renewals(run))
    assert hashlib.sha256(document).hexdigest() == audit["inputs_sha256"]
    assert document.startswith(b'{"renewals":[{"county_code":') and b'"tolerance":"1.00"' in document
    assert document.count(b'"group":"with_device"') == 9 and document.count(b'"group":"cohort"') == 3


def test_a_draft_whose_policies_changed_since_it_ran_cannot_be_published(ops, history_):
    audit = run_audit(ops, history_)
    policy_id = history_.renewals["no_device"]  # a cohort renewal: part of the inputs, not a finding
    assert ops.patch(f"/api/policies/{policy_id}", json={"premium": "9100.00"}).status_code == 200
    resp = ops.post(f"/api/audits/{audit['id']}/publish")
    assert resp.status_code == 409 and "inputs_sha256" in resp.json["errors"]
    again = ops.post(f"/api/audits/{audit['id']}/rerun").json
    assert ops.post(f"/api/audits/{again['id']}/publish").status_code == 200


def test_a_published_audit_cannot_be_changed_through_the_api(ops, history_):
    audit = published_audit(ops, history_)
    url = f"/api/audits/{audit['id']}"
    assert ops.post(f"{url}/publish").status_code == 409
    for method in ("put", "patch", "delete"):
        assert getattr(ops, method)(url, json={"status": "draft"}).status_code == 405
    finding = all_findings(ops, audit["id"])[0]
    assert ops.delete(f"{url}/findings/{finding['id']}").status_code == 405
    newer = ops.post(f"{url}/rerun").json
    assert newer["version"] == 2 and newer["status"] == "draft"
    assert ops.get(url).json == audit  # the published version is untouched by its re-run


def test_the_orm_refuses_to_change_a_published_run_its_findings_or_files(ops, history_, app):
    from insurer_dms.audits.frozen import FrozenAudit

    audit_id = published_audit(ops, history_)["id"]
    changes = [
        lambda: setattr(db.session.get(AuditRun, audit_id), "excess_total", Decimal("0.00")),
        lambda: db.session.delete(db.session.get(AuditRun, audit_id)),
        lambda: setattr(db.session.scalars(select(AuditFinding).where(AuditFinding.audit_id == audit_id)).first(),
                        "excess_premium", Decimal("0.00")),
        lambda: db.session.delete(db.session.scalars(select(AuditFile).where(AuditFile.audit_id == audit_id)).first()),
        lambda: db.session.add(AuditFile(audit_id=audit_id, format="pdf", object_key="audits/x.pdf", sha256="0" * 64, size_bytes=1)),
    ]
    with app.app_context():
        for change in changes:
            change()
            with pytest.raises(FrozenAudit):
                db.session.flush()
            db.session.rollback()
        draft = db.session.get(AuditRun, ops.post(f"/api/audits/{audit_id}/rerun").json["id"])
        draft.error = "a draft may still change"
        db.session.commit()


@pytest.mark.skipif(DATABASE_URL.startswith("sqlite"), reason="the triggers are PostgreSQL's")
def test_postgresql_refuses_raw_sql_changes_to_a_published_audit(ops, history_, app):
    audit_id = published_audit(ops, history_)["id"]
    statements = [
        "UPDATE audit_run SET excess_total = 0 WHERE id = :id",
        "UPDATE audit_run SET status = 'draft' WHERE id = :id",
        "DELETE FROM audit_run WHERE id = :id",
        "UPDATE audit_finding SET excess_premium = 0 WHERE audit_id = :id",
        "DELETE FROM audit_finding WHERE audit_id = :id",
        "UPDATE audit_file SET sha256 = repeat('0', 64) WHERE audit_id = :id",
        "DELETE FROM audit_file WHERE audit_id = :id",
        "INSERT INTO audit_file (audit_id, format, object_key, sha256, size_bytes, created_at)"
        " VALUES (:id, 'pdf', 'audits/forged.pdf', repeat('0', 64), 1, now())",
    ]
    with app.app_context():
        for statement in statements:
            with db.engine.connect() as conn:
                with pytest.raises(DBAPIError, match="is published"):
                    conn.execute(text(statement), {"id": audit_id})
        with db.engine.begin() as conn:  # a draft is not frozen
            draft_id = conn.execute(text("INSERT INTO audit_run (scope, version, period_from, period_to, tolerance, status,"
                                         " progress, renewals_audited, findings_count, excess_total, created_at)"
                                         " VALUES ('x', 1, '2025-01-01', '2025-01-31', 1, 'draft', 0, 0, 0, 0, now())"
                                         " RETURNING id")).scalar()
            conn.execute(text("UPDATE audit_run SET error = 'changed' WHERE id = :id"), {"id": draft_id})


# ---------------------------------------------------------------- what the files contain (the PDFs: test_audit_pdf.py)


def test_the_xlsx_opens_with_its_sheets_and_the_right_totals(ops, history_):
    from openpyxl import load_workbook

    audit = published_audit(ops, history_)
    workbook = load_workbook(io.BytesIO(ops.get(f"/api/audits/{audit['id']}/files/xlsx").get_data()))
    assert workbook.sheetnames == ["汇总", "审计发现", "对照组"]  # summary, findings, cohort
    summary = {row[0]: row[1] for row in workbook["汇总"].iter_rows(values_only=True) if row and row[0]}
    assert summary["审计续保数 / Renewals audited"] == 9 and summary["审计发现数 / Findings"] == 6
    assert Decimal(str(summary["超额保费合计（元） / Excess premium total (CNY)"])) == Decimal("3622.00")
    rows = list(workbook["审计发现"].iter_rows(values_only=True))
    header, findings = rows[0], rows[1:]
    assert header[0] == "车牌号码 / Plate"
    excess = header.index("超额保费 / Excess premium")
    assert len(findings) == 6 and sum(Decimal(str(r[excess])) for r in findings) == Decimal("3622.00")
    cohort = {row[0]: row for row in workbook["对照组"].iter_rows(min_row=2, values_only=True)}
    assert Decimal(str(cohort["差值（有设备 - 无设备） / Difference (with - without)"][3])) == Decimal("0.0078")


def test_the_csv_has_the_summary_and_one_line_per_finding(ops, history_):
    audit = published_audit(ops, history_)
    data = ops.get(f"/api/audits/{audit['id']}/files/csv").get_data()
    assert data.startswith("\ufeff".encode())
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "不因安装设备上调保费审计报告 / No-premium-increase audit report"
    assert "超额保费合计（元） / Excess premium total (CNY),3622.00" in lines
    header = lines.index(next(line for line in lines if line.startswith("车牌号码 / Plate")))
    assert len(lines[header + 1:]) == 6
    assert "445122,饶平县 / Raoping,3,3,2120.00" in lines


# ---------------------------------------------------------------- who sees what


def test_a_reviewer_sees_published_audits_only(ops, reviewer, history_):
    draft = run_audit(ops, history_)
    published = published_audit(ops, history_)
    assert [a["id"] for a in reviewer.get("/api/audits").json["items"]] == [published["id"]]
    assert reviewer.get(f"/api/audits/{draft['id']}").status_code == 404
    assert reviewer.get(f"/api/audits/{draft['id']}/findings").status_code == 404
    draft_finding = all_findings(ops, draft["id"])[0]
    assert reviewer.get(f"/api/audits/{draft['id']}/findings/{draft_finding['id']}").status_code == 404
    assert reviewer.get(f"/api/audits/{published['id']}").json["files"] == published["files"]
    finding = all_findings(reviewer, published["id"])[0]
    assert reviewer.get(f"/api/audits/{published['id']}/findings/{finding['id']}").status_code == 200
    # a published finding's id under the draft's number is still not found
    assert reviewer.get(f"/api/audits/{draft['id']}/findings/{finding['id']}").status_code == 404
    pdf = reviewer.get(f"/api/audits/{published['id']}/files/pdf")
    assert pdf.status_code == 200 and pdf.headers["X-Content-SHA256"] == next(f["sha256"] for f in published["files"] if f["format"] == "pdf")


def test_a_reviewer_cannot_create_publish_or_rerun_and_a_contractor_sees_nothing(ops, reviewer, contractor, history_):
    audit = run_audit(ops, history_)
    assert reviewer.post("/api/audits", json={"period_from": "2025-07-01", "period_to": "2025-09-30"}).status_code == 403
    assert reviewer.post(f"/api/audits/{audit['id']}/publish").status_code == 403
    assert reviewer.post(f"/api/audits/{audit['id']}/rerun").status_code == 403
    for url in ("/api/audits", f"/api/audits/{audit['id']}", f"/api/audits/{audit['id']}/findings",
                f"/api/audits/{audit['id']}/files/pdf"):
        assert contractor.get(url).status_code == 403
    assert ops.get(f"/api/audits/{audit['id']}").json["status"] == "draft"


def test_every_step_is_in_the_audit_trail(ops, history_, app):
    audit = published_audit(ops, history_)
    with app.app_context():
        entries = [(h.action, h.actor) for h in history("audit_run", audit["id"])]
    assert entries == [("create", "ops@example.com"), ("state:queued->draft", "ops@example.com"),
                       ("publish", "ops@example.com")]


# ---------------------------------------------------------------- the operations pages


def test_ops_run_an_audit_from_the_form_and_publish_it_from_its_page(ops, history_):
    form = {"period_from": "2025-07-01", "period_to": "2025-09-30", "counties": ["445102", "445122"]}
    resp = ops.post("/audits/new", data=form)
    assert resp.status_code == 302
    detail_url = resp.headers["Location"]
    page = ops.get(detail_url).get_data(as_text=True)
    assert 'data-status="draft"' in page and 'id="findings-count">5<' in page and 'id="excess-total">3454.00<' in page
    assert 'id="county-445102"' in page and 'id="product-compulsory"' not in page and 'id="publish-button"' in page
    assert 'id="cohort-difference"' in page
    resp = ops.post(detail_url + "/publish")
    assert resp.status_code == 302
    page = ops.get(detail_url).get_data(as_text=True)
    audit = ops.get("/api" + detail_url).json
    for stored in audit["files"]:
        assert stored["sha256"] in page and f'id="file-{stored["format"]}"' in page
    assert 'id="publish-button"' not in page
    download = ops.get(detail_url + "/files/xlsx")
    assert hashlib.sha256(download.get_data()).hexdigest() == download.headers["X-Content-SHA256"]
    assert ops.post(detail_url + "/publish").status_code == 409


def test_the_pages_list_audits_and_show_a_finding(ops, history_):
    audit = run_audit(ops, history_)
    page = ops.get("/audits").get_data(as_text=True)
    assert f'id="audit-{audit["id"]}"' in page and "v1" in page
    finding = by_case(history_, all_findings(ops, audit["id"]))["both_reasons"]
    page = ops.get(f"/audits/{audit['id']}/findings/{finding['id']}").get_data(as_text=True)
    assert 'id="finding-excess"><strong>470.00<' in page and 'id="autonomous-part">450.00<' in page
    assert ops.get(f"/audits/{audit['id']}?county_code=445122&product=compulsory").status_code == 200


def test_a_bad_form_is_shown_again_with_the_problem(ops):
    resp = ops.post("/audits/new", data={"period_from": "2025-09-30", "period_to": "2025-07-01"})
    assert resp.status_code == 422 and "period_to" in resp.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/audits", "/audits/new", "/audits/1"])
def test_the_operations_pages_are_refused_to_reviewers_and_contractors(reviewer, contractor, url):
    assert reviewer.get(url).status_code == 403
    assert contractor.get(url).status_code == 403


def test_a_renewal_is_audited_in_the_period_it_starts_in(ops, ctx):
    summer = seeded_history(dt.date(2025, 7, 1))
    autumn = seeded_history(dt.date(2025, 10, 1))
    assert autumn.period_to == dt.date(2025, 12, 31)
    assert run_audit(ops, summer)["excess_total"] == "3622.00"
    # the summer's "after_the_period" renewal (2025-10-29; A 1.00 -> 1.20 on 10000.00) belongs to the autumn
    audit = run_audit(ops, autumn)
    assert (audit["renewals_audited"], audit["findings_count"], audit["excess_total"]) == (10, 7, "5622.00")
