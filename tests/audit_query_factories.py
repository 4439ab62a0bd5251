"""Audit reports for the reviewer's tests, made directly with the models: trucks with a renewal, findings, a run.

A run is built as a draft and then published, as the audit service does: on PostgreSQL the database refuses
findings under a run that is already published. Every helper needs an app context and commits what it creates.
"""
import datetime as dt
import itertools
from decimal import Decimal

from insurer_dms.extensions import db
from insurer_dms.types import utcnow
from tests.install_factories import INSTALLED_AT, insured_truck

_SEQ = itertools.count(1)
PERIOD = (dt.date(2024, 7, 1), dt.date(2024, 9, 30))


def _policy(truck, start, premium, autonomous, benchmark="10800.00", ncd="0.8500", violation="1.0000"):
    from insurer_dms.fleet.models import Policy

    policy = Policy(number=f"PDAA-AQ-{next(_SEQ):06d}", truck_id=truck.id, kind="commercial", start_date=start,
                    end_date=start.replace(year=start.year + 1) - dt.timedelta(days=1), premium=Decimal(premium),
                    benchmark_premium=Decimal(benchmark), ncd_coefficient=Decimal(ncd),
                    autonomous_coefficient=Decimal(autonomous), violation_coefficient=Decimal(violation))
    db.session.add(policy)
    db.session.flush()
    return policy


def renewal_finding(audit, county="445102"):
    """A renewal on 2024-08-01 whose autonomous coefficient rose from 1.00 to 1.10 after the device was installed.

    Previous premium 10800.00 x 0.85 x 1.00 = 9180.00; new 10800.00 x 0.85 x 1.10 = 10098.00: the whole change of
    918.00 is the autonomous part, and so is the excess premium.
    """
    from insurer_dms.audits.models import AuditFinding

    truck = insured_truck(county=county, policy=False)
    previous = _policy(truck, dt.date(2023, 8, 1), "9180.00", "1.0000")
    renewal = _policy(truck, dt.date(2024, 8, 1), "10098.00", "1.1000")
    finding = AuditFinding(
        audit_id=audit.id, truck_id=truck.id, policy_id=renewal.id, previous_policy_id=previous.id, operator_id=truck.operator_id,
        county_code=county, product="commercial", renewal_start=renewal.start_date, installed_at=INSTALLED_AT,
        previous_premium=previous.premium, premium=renewal.premium, change=Decimal("918.00"), benchmark_part=Decimal("0.00"),
        ncd_part=Decimal("0.00"), violation_part=Decimal("0.00"), autonomous_part=Decimal("918.00"), residual=Decimal("0.00"),
        excess_premium=Decimal("918.00"), reasons=["autonomous_rose"],
    )
    db.session.add(finding)
    db.session.flush()
    return finding


def summary(findings):
    """The report's figures as the audit writes them: ``findings`` of 918.00 among findings + 3 renewals with a device,
    each a rise of 0.10 in the autonomous coefficient (mean 0.10 x findings / (findings + 3)); ten without a device,
    none of which rose."""
    excess = f"{Decimal('918.00') * findings:.2f}"
    audited = findings + 3
    mean = f"{Decimal('0.10') * findings / audited:.4f}"
    group = {"renewals": audited, "findings": findings, "excess": excess}
    return {
        "renewals_audited": audited, "findings": findings, "excess_total": excess,
        "by_reason": {"autonomous_rose": findings, "residual_over_tolerance": 0},
        "by_county": [{"code": "445102", **group}], "by_product": [{"code": "commercial", **group}],
        "cohort": {"with_device": {"renewals": audited, "autonomous_rose": findings, "mean_autonomous_change": mean},
                   "without_device": {"renewals": 10, "autonomous_rose": 0, "mean_autonomous_change": "0.0000"},
                   "difference": mean},
    }


REPORT_CSV = "finding,plate,excess_premium\n".encode()


def audit_run(findings=1, publish=True, scope=None):
    """An audit of 2024 Q3 with ``findings`` findings (each 918.00 of excess premium) and its CSV report file in
    storage, published unless told not."""
    from insurer_dms.audits.models import AuditFile, AuditRun
    from insurer_dms.storage import sha256, storage

    run = AuditRun(scope=scope or f"2024-07-01..2024-09-30#{next(_SEQ)}", version=1, period_from=PERIOD[0], period_to=PERIOD[1],
                   tolerance=Decimal("1.00"), status="draft", progress=100, renewals_audited=findings + 3,
                   findings_count=findings, excess_total=Decimal("918.00") * findings, finished_at=utcnow(),
                   summary=summary(findings))
    db.session.add(run)
    db.session.flush()
    for _ in range(findings):
        renewal_finding(run)
    key = f"audits/test-{run.id}-{next(_SEQ)}/report.csv"
    storage().put(key, REPORT_CSV, "text/csv")
    db.session.add(AuditFile(audit_id=run.id, format="csv", object_key=key, sha256=sha256(REPORT_CSV), size_bytes=len(REPORT_CSV)))
    db.session.commit()
    if publish:
        run.status, run.published_at, run.inputs_sha256 = "published", utcnow(), "a" * 64
        db.session.commit()
    return run


def published_finding():
    """The one finding of a fresh published audit."""
    return audit_run(findings=1).findings[0]


def draft_finding():
    """The one finding of a fresh draft audit (never shown to reviewers)."""
    return audit_run(findings=1, publish=False).findings[0]


# ---- pages -------------------------------------------------------------------------------------------------


def csrf_token_from(html):
    import re

    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def session_client(app, email, password="password123"):
    """A browser-like test client logged in through the login page (session cookie, CSRF on its forms).

    ``client.csrf`` holds the token for its POSTs."""
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    client.csrf = csrf_token_from(client.get("/login").get_data(as_text=True))
    return client
