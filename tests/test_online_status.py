"""Online-status imports: the platform's export moves seen orders to connected, on a real RQ worker or inline."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from insurer_dms.activity import Activity
from insurer_dms.extensions import db
from insurer_dms.installs.models import Installation, OnlineStatusImport, WorkOrder
from insurer_dms.sims.models import Sim
from insurer_dms.storage import storage
from tests import install_factories as f
from tests.factories import csv_bytes, upload, xlsx_bytes

LOCAL = f.LOCAL_TZ
URL = "/api/online-status/imports"
INSTALLED = dt.datetime(2021, 5, 20, 10, 30, tzinfo=LOCAL)
HEADERS_ZH = ["终端手机号", "车牌号码", "车牌颜色", "最后在线时间", "在线状态"]


@pytest.fixture
def fleet(app):
    """Four installed orders (one already seen), a SIM in stock and a truck without a device."""
    with app.app_context():
        orders = [f.installed_directly(msisdn_=f"144000000010{i}", installed_at=INSTALLED) for i in range(4)]
        bare = f.insured_truck()
        db.session.add(Sim(iccid=f.iccid(), msisdn="1440000000999", carrier="china_mobile", status="in_stock"))
        db.session.commit()
        return {
            "orders": [o.id for o in orders],
            "plates": [o.truck.plate for o in orders],
            "bare_plate": bare.plate,
        }


def export_rows(fleet):
    """Rows as the platform exports them (row numbers 2..10): 3 devices seen, 6 rows that match nothing."""
    p = fleet["plates"]
    return [
        ["1440000000100", p[0], "黄色", "2021-05-21 08:00:00", "在线"],  # 2: seen by number
        ["001440000000100", p[0], "黄色", "2021-05-23 18:45:10", "离线"],  # 3: same device later (zero-padded BCD)
        ["", p[1], "黄色", "2021/05/22 09:15:00", "离线"],  # 4: seen by plate only
        ["1440000000777", p[2], "黄色", "2021-05-22T07:00:00+08:00", "在线"],  # 5: unknown number, plate matches
        ["1440000000555", "", "", "2021-05-22 10:00:00", "离线"],  # 6: unknown number
        ["", "粤U99999", "黄色", "2021-05-22 10:00:00", "离线"],  # 7: unknown plate
        ["1440000000999", "", "", "2021-05-22 10:00:00", "离线"],  # 8: our SIM, not in an installed device
        ["1440000000103", "", "", "not a time", "离线"],  # 9: unparsable time
        ["", fleet["bare_plate"], "黄色", "2021-05-22 10:00:00", "离线"],  # 10: our truck, no device
        ["1440000000103", "", "", "2021-05-01 10:00:00", "离线"],  # 11: before the installation
        ["", "", "", "2021-05-22 10:00:00", "离线"],  # 12: nothing to match
    ]


EXPECTED_UNMATCHED = [
    {"row": 6, "value": "1440000000555", "reason": "unknown_number"},
    {"row": 7, "value": "粤U99999", "reason": "unknown_plate"},
    {"row": 8, "value": "1440000000999", "reason": "not_installed"},
    {"row": 9, "value": "not a time", "reason": "unparsable_time"},
    {"row": 11, "value": "1440000000103", "reason": "seen_before_install"},
    {"row": 12, "value": "", "reason": "no_number_or_plate"},
]


def assert_processed(app, fleet, body):
    assert body["status"] == "done", body
    assert body["rows"] == 11 and body["matched"] == 4 and body["connected"] == 3
    unmatched = [u for u in body["unmatched"] if u["row"] != 10]
    assert unmatched == EXPECTED_UNMATCHED
    assert {"row": 10, "value": fleet["bare_plate"], "reason": "not_installed"} in body["unmatched"]
    with app.app_context():
        states = [db.session.get(WorkOrder, i).state for i in fleet["orders"]]
        assert states == ["connected", "connected", "connected", "installed"]
        first = db.session.get(WorkOrder, fleet["orders"][0])
        assert first.connected_at == dt.datetime(2021, 5, 21, 0, 0, tzinfo=dt.timezone.utc)  # first sighting, 08:00 Beijing
        seen = db.session.scalar(select(Installation).where(Installation.work_order_id == first.id))
        assert seen.first_seen_at == dt.datetime(2021, 5, 21, 0, 0, tzinfo=dt.timezone.utc)
        assert seen.last_seen_at == dt.datetime(2021, 5, 23, 10, 45, 10, tzinfo=dt.timezone.utc)
        never = db.session.scalar(select(Installation).where(Installation.work_order_id == fleet["orders"][3]))
        assert never.first_seen_at is None


def test_import_runs_on_a_real_rq_worker_and_connects_seen_orders(app, rq_worker, ops, fleet):
    data = csv_bytes(HEADERS_ZH, export_rows(fleet))
    with rq_worker.configured():
        resp = upload(ops, URL, data, "在线状态导出.csv")
    assert resp.status_code == 202
    assert resp.json["status"] == "pending"  # queued, nothing ran in the web process
    import_id = resp.json["id"]
    with app.app_context():
        assert storage().get(f"online-status/{resp.json['sha256']}.csv") == data
        assert db.session.get(WorkOrder, fleet["orders"][0]).state == "installed"

    rq_worker.run()

    body = ops.get(f"{URL}/{import_id}").json
    assert_processed(app, fleet, body)
    with app.app_context():
        actors = set(db.session.scalars(select(Activity.actor).where(Activity.action == "state:installed->connected")))
        assert actors == {"job:jobs.installs.process_online_status"}


def test_import_runs_inline_without_redis(app, ops, fleet):
    resp = upload(ops, URL, csv_bytes(HEADERS_ZH, export_rows(fleet)), "export.csv")
    assert resp.status_code == 202
    assert_processed(app, fleet, resp.json)
    assert ops.get(f"{URL}/{resp.json['id']}").json == resp.json
    listing = ops.get(URL).json
    assert listing["total"] == 1 and listing["items"][0]["id"] == resp.json["id"]


def test_xlsx_export_with_english_headers_and_typed_cells(app, ops, fleet):
    rows = [[int("1440000000101"), "", dt.datetime(2021, 5, 22, 9, 0)], [None, fleet["plates"][2], "2021-05-22 09:00"]]
    resp = upload(ops, URL, xlsx_bytes(["Terminal phone number", "Plate number", "Last online time"], rows), "status.xlsx")
    assert resp.status_code == 202
    assert resp.json["status"] == "done" and resp.json["matched"] == 2 and resp.json["connected"] == 2
    assert resp.json["unmatched"] == []


def test_the_same_file_twice_returns_the_first_import(app, ops, fleet):
    data = csv_bytes(HEADERS_ZH, export_rows(fleet))
    first = upload(ops, URL, data, "export.csv")
    second = upload(ops, URL, data, "export-again.csv")
    assert first.status_code == 202 and second.status_code == 200
    assert second.json == first.json
    with app.app_context():
        assert db.session.scalar(select(func.count(OnlineStatusImport.id))) == 1
        imports = db.session.scalar(select(func.count(Activity.id)).where(Activity.entity_type == "online_status_import", Activity.action == "import"))
        assert imports == 1  # processed once
        assert storage().list(f"online-status/{first.json['sha256']}") == [f"online-status/{first.json['sha256']}.csv"]


def test_rerunning_the_job_gives_the_same_result(app, ops, fleet):
    from jobs.installs import process_online_status

    resp = upload(ops, URL, csv_bytes(HEADERS_ZH, export_rows(fleet)), "export.csv")
    import_id = resp.json["id"]
    with app.app_context():
        assert process_online_status(import_id)["status"] == "done"  # delivered twice: no-op
        item = db.session.get(OnlineStatusImport, import_id)
        item.status = "running"  # processed again (e.g. re-queued by hand): nothing changes
        db.session.commit()
        process_online_status(import_id)
    body = ops.get(f"{URL}/{import_id}").json
    assert body["matched"] == 4 and body["unmatched"] == resp.json["unmatched"]
    assert_processed(app, fleet, {**body, "connected": 3})


def test_sightings_keep_the_earliest_first_and_latest_last_seen(app, ops, fleet):
    number = "1440000000100"
    upload(ops, URL, csv_bytes(["终端手机号", "最后上线时间"], [[number, "2021-05-25 10:00:00"]]), "a.csv")
    upload(ops, URL, csv_bytes(["终端手机号", "最后上线时间"], [[number, "2021-05-22 10:00:00"]]), "b.csv")
    with app.app_context():
        seen = db.session.scalar(select(Installation).where(Installation.work_order_id == fleet["orders"][0]))
        assert seen.first_seen_at == dt.datetime(2021, 5, 22, 2, tzinfo=dt.timezone.utc)
        assert seen.last_seen_at == dt.datetime(2021, 5, 25, 2, tzinfo=dt.timezone.utc)
        assert db.session.get(WorkOrder, fleet["orders"][0]).connected_at == dt.datetime(2021, 5, 25, 2, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    "headers,message",
    [
        (["车牌颜色", "最后在线时间"], "No terminal phone number"),
        (["终端手机号", "在线状态"], "No last-online time"),
    ],
)
def test_a_file_without_the_needed_columns_is_refused(app, ops, headers, message):
    resp = upload(ops, URL, csv_bytes(headers, [["1440000000100", "x"]]), "export.csv")
    assert resp.status_code == 422
    assert "file" in resp.json["errors"] and message in " ".join(resp.json["errors"]["file"])
    with app.app_context():
        assert db.session.scalar(select(func.count(OnlineStatusImport.id))) == 0


def test_other_files_are_refused(ops):
    assert upload(ops, URL, b"hello", "export.txt").status_code == 422
    assert upload(ops, URL, b"not a zip", "export.xlsx").status_code == 422
    resp = upload(ops, URL, csv_bytes(["终端手机号", "最后在线时间"], []), "empty.csv")
    assert resp.status_code == 422 and "file" in resp.json["errors"]
    resp = ops.post(URL, data={}, content_type="multipart/form-data")
    assert resp.status_code == 422 and "file" in resp.json["errors"]


def test_a_job_that_cannot_read_its_file_fails_with_the_error_and_is_retried(app, ops, fleet):
    from jobs.installs import process_online_status

    data = csv_bytes(HEADERS_ZH, export_rows(fleet))
    resp = upload(ops, URL, data, "export.csv")
    with app.app_context():
        item = db.session.get(OnlineStatusImport, resp.json["id"])
        item.status = "pending"
        db.session.commit()
        storage().delete(item.object_key)
        process_online_status(item.id)
    body = ops.get(f"{URL}/{resp.json['id']}").json
    assert body["status"] == "failed" and body["error"]
    again = upload(ops, URL, data, "export.csv")  # the same file after a failure is processed again
    assert again.status_code == 202 and again.json["id"] == body["id"] and again.json["status"] == "done"
    assert again.json["error"] is None


def test_missing_import_is_404(ops):
    assert ops.get(f"{URL}/999").status_code == 404
