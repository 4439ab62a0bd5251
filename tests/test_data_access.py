"""Data access to the provincial platform: configuration sheets, manual connection, the never-seen list."""
import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select

from insurer_dms.activity import Activity
from insurer_dms.extensions import db
from insurer_dms.installs import access
from insurer_dms.installs.models import Installation, WorkOrder
from tests import install_factories as f

LOCAL = f.LOCAL_TZ
OPS_ONLY = [
    ("GET", "/api/installations/config-sheets.csv"),
    ("POST", "/api/work-orders/1/confirm-connection"),
    ("GET", "/api/installations/never-seen"),
    ("GET", "/api/reports/progress"),
    ("GET", "/api/online-status/imports"),
    ("POST", "/api/online-status/imports"),
    ("GET", "/api/online-status/imports/1"),
]


def read_csv(data):
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.fixture
def installed(app, ctx):
    """An order installed on 粤U12345 (yellow plate, Raoping) with SIM 1440000000123, by Alpha Installations."""
    entry = f.catalogue_entry(manufacturer="Streamax", model_code="C6D-AI-X")
    truck = f.insured_truck(plate="粤U12345", county="445122")
    device = f.stock_device(entry)
    order = f.installed_directly(truck, device, msisdn_="1440000000123", installed_at=dt.datetime(2021, 5, 20, 10, 30, tzinfo=LOCAL))
    return {"order_id": order.id, "number": order.number, "device": device.serial, "terminal_id": device.terminal_id}


def test_config_sheet_of_an_installed_device_has_every_field(app, installed):
    order = db.session.get(WorkOrder, installed["order_id"])
    sheet = access.config_sheet(order)
    assert sheet["platform_host"] == app.config["PLATFORM_HOST"]
    assert sheet["platform_port"] == app.config["PLATFORM_PORT"] == 7611
    assert sheet["terminal_phone"] == "1440000000123"
    assert sheet["plate"] == "粤U12345"
    assert sheet["plate_colour"] == 2  # JT/T 808: yellow
    assert sheet["province_code"] == "440000"
    assert sheet["city_code"] == "445100"
    assert sheet["county_code"] == "445122"
    assert sheet["manufacturer"] == "Streamax"
    assert sheet["terminal_model"] == "C6D-AI-X"
    assert sheet["terminal_id"] == installed["terminal_id"]
    assert sheet["device_serial"] == installed["device"]
    assert sheet["installed_at"] == dt.datetime(2021, 5, 20, 2, 30, tzinfo=dt.timezone.utc)
    assert sheet["work_order_number"] == installed["number"]
    installation = db.session.scalar(select(Installation))
    assert access.config_sheet(installation) == sheet


def test_ops_downloads_the_config_sheet_as_json_and_csv(ops, installed):
    resp = ops.get(f"/api/work-orders/{installed['order_id']}/config-sheet")
    assert resp.status_code == 200
    assert resp.json["terminal_phone"] == "1440000000123" and resp.json["plate_colour"] == 2
    assert resp.json["installed_at"].startswith("2021-05-20T02:30")
    resp = ops.get(f"/api/work-orders/{installed['order_id']}/config-sheet?format=csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    (row,) = read_csv(resp.data)
    assert row == {
        "Platform host": "gdzdaq.example.gov.cn", "Platform port": "7611", "Terminal phone number": "1440000000123",
        "Plate number": "粤U12345", "Plate colour code": "2", "Province code": "440000", "City code": "445100",
        "County code": "445122", "Manufacturer": "Streamax", "Terminal model": "C6D-AI-X",
        "Terminal ID": installed["terminal_id"], "Device serial": installed["device"], "Install time": "2021-05-20 10:30:00",
        "Work order": installed["number"],
    }


def test_bad_format_is_422_with_the_field(ops, installed):
    resp = ops.get(f"/api/work-orders/{installed['order_id']}/config-sheet?format=pdf")
    assert resp.status_code == 422 and "format" in resp.json["errors"]


def test_an_order_without_a_device_has_no_config_sheet(ops, ctx):
    order = f.open_order()
    resp = ops.get(f"/api/work-orders/{order.id}/config-sheet")
    assert resp.status_code == 409
    assert ops.get("/api/work-orders/9999/config-sheet").status_code == 404


def test_bulk_config_sheets_have_one_row_per_current_installation(ops, ctx):
    kept = [f.installed_directly(f.insured_truck(county=c)) for c in ("445102", "445102", "445103")]
    removed = f.installed_directly(f.insured_truck(county="445102"))
    db.session.scalar(select(Installation).where(Installation.work_order_id == removed.id)).removed_at = dt.datetime.now(dt.timezone.utc)
    db.session.commit()
    plates = {o.id: o.truck.plate for o in kept}

    resp = ops.get("/api/installations/config-sheets.csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = read_csv(resp.data)
    assert sorted(r["Plate number"] for r in rows) == sorted(plates.values())
    assert all(r["Terminal phone number"].startswith("1440") and r["Platform port"] == "7611" for r in rows)
    assert list(rows[0]) == [title for _k, title in access.SHEET_FIELDS]

    rows = read_csv(ops.get("/api/installations/config-sheets.csv?county_code=445103").data)
    assert [r["Plate number"] for r in rows] == [plates[kept[2].id]]
    assert ops.get("/api/installations/config-sheets.csv?county_code=44").status_code == 422


def test_contractor_reads_own_company_config_sheet_only(contractor, other_contractor, reviewer, anon, ctx):
    own = f.installed_directly(company_name="Alpha Installations")
    theirs = f.installed_directly(company_name="Beta Installations")
    assert contractor.get(f"/api/work-orders/{own.id}/config-sheet").status_code == 200
    assert contractor.get(f"/api/work-orders/{theirs.id}/config-sheet").status_code == 404
    assert contractor.get(f"/api/work-orders/{theirs.id}/config-sheet?format=csv").status_code == 404
    assert other_contractor.get(f"/api/work-orders/{theirs.id}/config-sheet").status_code == 200
    assert reviewer.get(f"/api/work-orders/{own.id}/config-sheet").status_code == 403
    assert anon.get(f"/api/work-orders/{own.id}/config-sheet").status_code == 401


@pytest.mark.parametrize("method,url", OPS_ONLY)
def test_ops_only_endpoints_refuse_contractors_reviewers_and_anonymous(request, method, url):
    for role, status in (("contractor", 403), ("reviewer", 403)):
        assert request.getfixturevalue(role).open(method, url).status_code == status, role
    assert request.getfixturevalue("anon").open(url, method=method).status_code == 401


# ---------------------------------------------------------------- manual confirmation


def test_manual_confirmation_needs_a_reason(ops, installed):
    url = f"/api/work-orders/{installed['order_id']}/confirm-connection"
    resp = ops.post(url, json={})
    assert resp.status_code == 422 and "reason" in resp.json["errors"]
    resp = ops.post(url, json={"reason": "   "})
    assert resp.status_code == 422 and "reason" in resp.json["errors"]
    assert db.session.get(WorkOrder, installed["order_id"]).state == "installed"

    resp = ops.post(url, json={"reason": "Seen on the platform's live map by phone with the county office"})
    assert resp.status_code == 200
    assert resp.json["state"] == "connected" and resp.json["connected_at"]
    db.session.expire_all()
    entry = db.session.scalar(select(Activity).where(Activity.entity_type == "work_order", Activity.action == "state:installed->connected"))
    assert entry.actor == "ops@example.com" and entry.note.startswith("manual: Seen on the platform")

    again = ops.post(url, json={"reason": "twice"})
    assert again.status_code == 200 and again.json["connected_at"] == resp.json["connected_at"]


def test_only_installed_orders_can_be_confirmed(ops, ctx):
    order = f.open_order()
    resp = ops.post(f"/api/work-orders/{order.id}/confirm-connection", json={"reason": "checked"})
    assert resp.status_code == 409
    assert ops.post("/api/work-orders/9999/confirm-connection", json={"reason": "checked"}).status_code == 404


def test_mark_connected_service_refuses_manual_without_reason(ctx, installed):
    from insurer_dms.errors import Invalid

    with pytest.raises(Invalid) as err:
        access.mark_connected(installed["order_id"], dt.datetime.now(dt.timezone.utc), "manual")
    assert "reason" in err.value.errors
    order = access.mark_connected(installed["order_id"], dt.datetime(2021, 5, 21, tzinfo=dt.timezone.utc), "platform")
    assert order.state == "connected" and order.connected_at == dt.datetime(2021, 5, 21, tzinfo=dt.timezone.utc)


# ---------------------------------------------------------------- never seen


def test_never_seen_lists_installed_devices_oldest_first_with_age(ops, ctx):
    day = dt.date(2021, 6, 10)
    middle = f.installed_directly(installed_at=dt.datetime(2021, 5, 1, 9, tzinfo=LOCAL))
    oldest = f.installed_directly(installed_at=dt.datetime(2021, 4, 2, 23, 30, tzinfo=LOCAL))
    f.installed_directly(installed_at=dt.datetime(2021, 3, 15, 9, tzinfo=LOCAL), first_seen_at=dt.datetime(2021, 3, 15, 12, tzinfo=LOCAL))
    newest = f.installed_directly(installed_at=dt.datetime(2021, 6, 9, 8, tzinfo=LOCAL))

    items = access.never_seen(day)
    assert [i["work_order_id"] for i in items] == [oldest.id, middle.id, newest.id]
    assert [i["age_days"] for i in items] == [69, 40, 1]  # 2 April 23:30 is still 2 April in Chaozhou
    assert items[0]["plate"] == oldest.truck.plate and items[0]["terminal_phone"].startswith("1440")

    resp = ops.get("/api/installations/never-seen?page_size=2")
    assert resp.status_code == 200
    assert resp.json["total"] == 3 and resp.json["pages"] == 2
    assert [i["work_order_id"] for i in resp.json["items"]] == [oldest.id, middle.id]
    assert resp.json["items"][0]["age_days"] >= 69
    resp = ops.get("/api/installations/never-seen?page=2&page_size=2")
    assert [i["work_order_id"] for i in resp.json["items"]] == [newest.id]
