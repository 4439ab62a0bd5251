"""Road-check findings: the transport bureau's file turns into tickets, work orders and records, all or nothing."""
import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select

from insurer_dms.extensions import db
from insurer_dms.installs.models import WorkOrder
from insurer_dms.maintenance.models import RoadCheckFinding, RoadCheckImport, Ticket, TicketEvent
from tests import install_factories as f
from tests import signal_factories as sg
from tests.factories import upload, xlsx_bytes

URL = "/api/road-checks/import"
CHECKED = "2025-03-18"
UNKNOWN = "粤A12345"  # a Guangzhou truck: not ours


@pytest.fixture
def fleet(app):
    """Our trucks as the bureau found them, by role in the file."""
    with app.app_context():
        trucks = {name: sg.installed_truck().truck for name in ("damaged", "covered", "offline", "missing_device")}
        trucks["eligible"] = f.insured_truck()
        trucks["light"] = f.insured_truck(heavy=False)
        trucks["uninsured"] = f.insured_truck(policy=False)
        return {name: (t.id, t.plate) for name, t in trucks.items()}


def findings_file(fleet):
    """Rows 2..10: every finding, trucks with and without a device, an unknown plate."""
    p = {name: plate for name, (_id, plate) in fleet.items()}
    return sg.road_check_csv([
        (CHECKED, p["damaged"], "G1523 潮州收费站", "device_damaged"),  # 2: physical_damage ticket
        (CHECKED, p["covered"], "潮汕公路", "camera_covered"),  # 3: camera_covered ticket
        (CHECKED, p["offline"], "", "not_online"),  # 4: device_offline ticket
        (CHECKED, p["missing_device"], "", "no_device"),  # 5: a device on our books, none on the truck: "other"
        (CHECKED, p["eligible"], "站前路", "no_device"),  # 6: eligible: installation work order
        (CHECKED, p["eligible"], "站前路", "not_online"),  # 7: the same truck again: its order is open
        (CHECKED, p["light"], "", "no_device"),  # 8: not a heavy truck: recorded
        (CHECKED, p["uninsured"], "", "camera_covered"),  # 9: no device and no policy: recorded
        (CHECKED, UNKNOWN, "意溪", "no_device"),  # 10: not ours
    ])


def by_row(import_id):
    return {f.row_no: f for f in db.session.scalars(select(RoadCheckFinding).where(RoadCheckFinding.import_id == import_id))}


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_each_finding_is_handled_and_unknown_plates_are_reported(app, ops, fleet):
    resp = upload(ops, URL, findings_file(fleet), "路检路查-2025-03.csv")
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert (body["rows"], body["tickets"], body["work_orders"], body["recorded"], body["unknown_plates"]) == (9, 4, 1, 3, 1)
    assert body["unknown"] == [{"row": 10, "plate": UNKNOWN}]
    with app.app_context():
        rows = by_row(body["id"])
        assert {n: r.outcome for n, r in rows.items()} == {
            2: "ticket", 3: "ticket", 4: "ticket", 5: "ticket", 6: "work_order", 7: "recorded", 8: "recorded",
            9: "recorded", 10: "unknown_plate"}
        categories = {n: (db.session.get(Ticket, rows[n].ticket_id).category, db.session.get(Ticket, rows[n].ticket_id).truck_id)
                      for n in (2, 3, 4, 5)}
        assert categories == {2: ("physical_damage", fleet["damaged"][0]), 3: ("camera_covered", fleet["covered"][0]),
                              4: ("device_offline", fleet["offline"][0]), 5: ("other", fleet["missing_device"][0])}
        damaged = db.session.get(Ticket, rows[2].ticket_id)
        assert (damaged.source, damaged.priority, damaged.state) == ("road_check", "high", "open")
        assert damaged.description == "Road check on 2025-03-18 at G1523 潮州收费站: device_damaged."
        assert damaged.events[0].data["road_check_import_id"] == body["id"] and damaged.events[0].data["row"] == 2
        order = db.session.get(WorkOrder, rows[6].work_order_id)
        assert (order.kind, order.state, order.truck_id) == ("install", "open", fleet["eligible"][0])
        assert rows[7].work_order_id == order.id and rows[7].reason == "order_open"
        assert (rows[8].reason, rows[8].work_order_id) == ("not_heavy", None)
        assert rows[9].reason == "no_policy_in_force"
        assert (rows[10].truck_id, rows[10].ticket_id) == (None, None)
        assert count(WorkOrder) == 1 + 4  # the four installed trucks' own orders


def test_chinese_headers_and_values_in_an_xlsx_file(app, ops, fleet):
    headers = ["日期", "车牌", "地点", "问题"]
    rows = [[dt.datetime(2025, 3, 18), fleet["damaged"][1], "潮州大道", "设备损坏"],
            ["2025/3/19", fleet["covered"][1], "", "摄像头遮挡"],
            ["2025年3月20日", fleet["offline"][1], "", "不在线"],
            [dt.date(2025, 3, 21), fleet["eligible"][1], "", "未安装设备"]]
    resp = upload(ops, URL, xlsx_bytes(headers, rows), "路检.xlsx")
    assert resp.status_code == 201, resp.json
    assert (resp.json["tickets"], resp.json["work_orders"]) == (3, 1)
    with app.app_context():
        found = by_row(resp.json["id"])
        assert [found[n].finding for n in (2, 3, 4, 5)] == ["device_damaged", "camera_covered", "not_online", "no_device"]
        assert [found[n].checked_on for n in (2, 3, 4, 5)] == [dt.date(2025, 3, d) for d in (18, 19, 20, 21)]


def test_the_official_chinese_headers_are_accepted(ops, fleet):
    data = sg.road_check_csv([(CHECKED, fleet["offline"][1], "凤新路", "不在线")], headers=sg.ROAD_CHECK_HEADERS_ZH)
    assert upload(ops, URL, data, "findings.csv").json["tickets"] == 1


def test_bad_rows_refuse_the_whole_file_with_every_row_number(app, ops, fleet):
    tomorrow = (f.local_today() + dt.timedelta(days=1)).isoformat()
    data = sg.road_check_csv([
        (CHECKED, fleet["damaged"][1], "", "device_damaged"),  # 2: fine
        ("2025-13-01", fleet["covered"][1], "", "camera_covered"),  # 3: no 13th month
        (CHECKED, fleet["offline"][1], "", "smoke"),  # 4: unknown finding
        (CHECKED, "粤U1234", "", "no_device"),  # 5: too short for a plate
        (tomorrow, fleet["eligible"][1], "", "no_device"),  # 6: in the future
        (CHECKED, fleet["light"][1], "", ""),  # 7: no finding
    ])
    resp = upload(ops, URL, data, "findings.csv")
    assert resp.status_code == 422
    assert [(r["row"], r["column"]) for r in resp.json["rows"]] == [
        (3, "date"), (4, "finding"), (5, "plate"), (6, "date"), (7, "finding")]
    assert "Unknown finding 'smoke'" in resp.json["rows"][1]["message"]
    with app.app_context():
        assert (count(RoadCheckImport), count(RoadCheckFinding), count(Ticket), count(WorkOrder)) == (0, 0, 0, 4)


def test_a_file_without_the_finding_column_is_refused(ops, fleet):
    data = sg.road_check_csv([(CHECKED, fleet["damaged"][1], "")], headers=["date", "plate", "location"])
    resp = upload(ops, URL, data, "findings.csv")
    assert resp.status_code == 422 and resp.json["rows"] == [{"row": 1, "column": "finding", "message": "Missing column 'finding'."}]


def test_the_same_file_twice_answers_the_first_import(app, ops, fleet):
    data = findings_file(fleet)
    first = upload(ops, URL, data, "findings.csv")
    second = upload(ops, URL, data, "findings-again.csv")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json == first.json
    with app.app_context():
        assert (count(RoadCheckImport), count(RoadCheckFinding), count(Ticket), count(TicketEvent)) == (1, 9, 4, 4)


def test_a_road_check_and_zero_usage_on_one_truck_are_one_ticket(app, ops):
    with app.app_context():
        order = sg.installed_truck()
        truck_id, plate = order.truck_id, order.truck.plate
    upload(ops, URL, sg.road_check_csv([(CHECKED, plate, "", "not_online")]), "findings.csv")
    with app.app_context():
        sg.reconciled(zero=[db.session.get(WorkOrder, order.id)])
        (ticket,) = sg.tickets_of(truck_id)
        assert [(e.kind, e.source) for e in ticket.events] == [("created", "road_check"), ("signal", "zero_usage")]
    upload(ops, URL, sg.road_check_csv([("2025-03-25", plate, "", "不在线")]), "findings-2.csv")
    with app.app_context():
        (ticket,) = sg.tickets_of(truck_id)
        assert ticket.signal_count == 3


def test_imports_and_their_findings_are_listed_and_paged(ops, fleet):
    import_id = upload(ops, URL, findings_file(fleet), "findings.csv").json["id"]
    listing = ops.get("/api/road-checks").json
    assert listing["total"] == 1 and listing["items"][0]["id"] == import_id
    page = ops.get(f"/api/road-checks/{import_id}?page=2&page_size=4").json
    assert page["import"]["id"] == import_id and (page["total"], page["pages"]) == (9, 3)
    assert [i["row_no"] for i in page["items"]] == [6, 7, 8, 9]
    assert page["items"][0]["work_order_number"].startswith("WO")
    unknown = ops.get(f"/api/road-checks/{import_id}?outcome=unknown_plate").json
    assert [(i["row_no"], i["plate"], i["outcome"]) for i in unknown["items"]] == [(10, UNKNOWN, "unknown_plate")]
    tickets = ops.get(f"/api/road-checks/{import_id}?outcome=ticket").json["items"]
    assert all(i["ticket_number"].startswith("TK-") for i in tickets) and len(tickets) == 4
    assert ops.get("/api/road-checks/999").status_code == 404
    assert ops.get(f"/api/road-checks/{import_id}?outcome=lost").status_code == 422


ENDPOINTS = [("post", URL), ("get", "/api/road-checks"), ("get", "/api/road-checks/1")]


@pytest.mark.parametrize("method,url", ENDPOINTS)
def test_only_operations_may_use_road_checks(request, method, url, anon):
    for role in ("contractor", "reviewer"):
        client = request.getfixturevalue(role)
        resp = upload(client, url, b"date,plate\n", "x.csv") if method == "post" else client.get(url)
        assert resp.status_code == 403
    resp = anon.post(url, data={}) if method == "post" else anon.get(url)
    assert resp.status_code == 401


# ---------------------------------------------------------------- pages


def post_page(client, data, filename="findings.csv"):
    return client.post("/road-checks", data={"file": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def test_ops_uploads_on_the_page_and_sees_outcomes_with_links(ops, fleet):
    assert 'id="import-form"' in ops.get("/road-checks").get_data(as_text=True)
    resp = post_page(ops, findings_file(fleet))
    assert resp.status_code == 302
    detail = ops.get(resp.headers["Location"]).get_data(as_text=True)
    for outcome, number in (("ticket", 4), ("work_order", 1), ("recorded", 3), ("unknown_plate", 1)):
        assert re.search(rf'id="count-{outcome}">{number}<', detail)
    assert re.search(r'href="/tickets/\d+" class="ticket">TK-', detail)
    assert re.search(r'href="/work-orders/\d+" class="work-order">WO', detail)
    assert "Not a heavy truck" in detail and UNKNOWN in detail
    listing = ops.get("/road-checks").get_data(as_text=True)
    assert "findings.csv" in listing
    unknown_only = ops.get(resp.headers["Location"] + "?outcome=unknown_plate").get_data(as_text=True)
    assert UNKNOWN in unknown_only and fleet["damaged"][1] not in unknown_only


def test_a_bad_file_on_the_page_lists_the_rows_to_fix(ops, fleet):
    resp = post_page(ops, sg.road_check_csv([("yesterday", fleet["damaged"][1], "", "device_damaged")]))
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert 'id="import-errors"' in page and "Not a date" in page


@pytest.mark.parametrize("url", ["/road-checks", "/road-checks/1"])
def test_road_check_pages_are_for_operations_only(request, anon, url):
    assert anon.get(url).status_code == 302
    for role in ("contractor", "reviewer"):
        assert request.getfixturevalue(role).get(url).status_code == 403


def test_a_failure_while_writing_the_tickets_leaves_no_work_order_behind(app, ops, fleet, monkeypatch):
    from insurer_dms.maintenance import tickets

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    with app.app_context():
        orders = count(WorkOrder)  # the installed trucks' own orders
    monkeypatch.setattr(tickets, "signal", broken)  # fails after row 6's work order was added to the transaction
    with pytest.raises(RuntimeError):
        with app.app_context():
            from insurer_dms.maintenance.road_checks import import_findings

            import_findings(findings_file(fleet), "路检路查-2025-03.csv")
    with app.app_context():
        assert (count(WorkOrder), count(RoadCheckImport), count(RoadCheckFinding), count(Ticket)) == (orders, 0, 0, 0)
