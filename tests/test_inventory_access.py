"""Purchase orders and devices are for the insurer's operations staff only: 401 anonymous, 403 other roles."""
import io

import pytest

from tests.factories import device_item, make_devices, make_po

API = [
    ("GET", "/api/purchase-orders"),
    ("POST", "/api/purchase-orders"),
    ("GET", "/api/purchase-orders/{po}"),
    ("POST", "/api/purchase-orders/{po}/receipts"),
    ("POST", "/api/purchase-orders/{po}/receipts/import"),
    ("GET", "/api/devices"),
    ("GET", "/api/devices/{device}"),
    ("POST", "/api/devices/{device}/transition"),
]
PAGES = [
    ("GET", "/purchase-orders"),
    ("GET", "/purchase-orders/new"),
    ("POST", "/purchase-orders/new"),
    ("GET", "/purchase-orders/{po}"),
    ("POST", "/purchase-orders/{po}"),
    ("GET", "/devices"),
    ("GET", "/devices/{device}"),
    ("POST", "/devices/{device}/transition"),
]


@pytest.fixture
def ids(ctx):
    po = make_po(quantity=5)
    device = make_devices(po, 1)[0]
    return {"po": po.id, "device": device.id, "line": po.lines[0].id}


def body_for(url, ids):
    """A valid request body, so only the caller's identity can be the reason for a refusal."""
    if url.endswith("/receipts/import"):
        return {"data": {"file": (io.BytesIO(b"line_no,serial,terminal_id\n1,SN9,T9\n"), "r.csv")}, "content_type": "multipart/form-data"}
    if url.endswith("/receipts"):
        return {"json": {"line_id": ids["line"], "devices": [device_item(9)]}}
    if url.endswith("/transition"):
        return {"json": {"to": "faulty"}}
    if url.endswith("/purchase-orders"):
        return {"json": {"number": "X", "supplier": "S", "order_date": "2021-04-01", "lines": []}}
    return {}


@pytest.mark.parametrize("method,url", API)
def test_anonymous_api_callers_get_401(anon, ids, method, url):
    resp = anon.open(url.format(**ids), method=method, headers={"Accept": "application/json"}, **body_for(url, ids))
    assert resp.status_code == 401
    assert resp.json["code"] == 401


@pytest.mark.parametrize("role", ["contractor", "reviewer"])
@pytest.mark.parametrize("method,url", API + PAGES)
def test_contractors_and_reviewers_get_403(request, ids, role, method, url):
    client = request.getfixturevalue(role)
    resp = client.open(method, url.format(**ids), **body_for(url, ids))
    assert resp.status_code == 403


@pytest.mark.parametrize("method,url", PAGES)
def test_anonymous_visitors_are_refused_pages(anon, ids, method, url):
    resp = anon.open(url.format(**ids), method=method, headers={"Accept": "text/html"})
    if method == "GET":
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    else:
        assert resp.status_code in (302, 400)  # a cookie-less form post fails CSRF before anything else


def test_refused_callers_change_nothing(contractor, reviewer, ops, ids):
    for client in (contractor, reviewer):
        client.post(f"/api/devices/{ids['device']}/transition", json={"to": "faulty"})
        client.post(f"/api/purchase-orders/{ids['po']}/receipts", json={"line_id": ids["line"], "devices": [device_item(9)]})
    assert ops.get(f"/api/devices/{ids['device']}").json["status"] == "in_stock"
    assert ops.get("/api/devices").json["total"] == 1
