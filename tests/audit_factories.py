"""No-premium-increase audit test data: the seeded renewal history and runs made through the API."""
from insurer_dms.audits.samples import CASES, seed_renewal_history

FINDING_CASES = {case.key: case for case in CASES if case.finding}


def seeded_history(period_from=None):
    """The sample history (insurer_dms.audits.samples) for the quarter from ``period_from`` (2025-07-01)."""
    return seed_renewal_history(period_from) if period_from else seed_renewal_history()


def run_audit(client, history, counties=None):
    """POST an audit of the history's quarter; returns the JSON of the run (run inline: already a draft)."""
    body = {"period_from": history.period_from.isoformat(), "period_to": history.period_to.isoformat()}
    if counties is not None:
        body["counties"] = counties
    resp = client.post("/api/audits", json=body)
    assert resp.status_code == 202, resp.json
    return resp.json


def published_audit(client, history):
    """An audit of the history's quarter, published through the API; returns its JSON."""
    audit = run_audit(client, history)
    resp = client.post(f"/api/audits/{audit['id']}/publish")
    assert resp.status_code == 200, resp.json
    return resp.json


def all_findings(client, audit_id, **filters):
    resp = client.get(f"/api/audits/{audit_id}/findings", query_string={"page_size": 500, **filters})
    assert resp.status_code == 200, resp.json
    return resp.json["items"]
