"""Every refusal in the user's language: the API's one error body (message, field messages, rows) and the pages'
flashes, in Chinese for a Chinese browser or user and unchanged in English for everyone else."""
import datetime as dt
import io

import pytest

from insurer_dms.auth.models import User
from insurer_dms.extensions import db
from insurer_dms.fleet.samples import HEADERS, ExportBuilder, to_csv
from tests import install_factories as f
from tests.factories import make_devices, make_po

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}
EN = {"Accept-Language": "en-US,en;q=0.9"}


def body(resp, code):
    assert resp.status_code == code, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    assert set(resp.json) <= {"code", "status", "message", "errors", "rows"}
    return resp.json


# ---- the API --------------------------------------------------------------------------------------------


def test_a_422_from_the_schema_has_chinese_field_messages_for_a_chinese_browser(ops):
    bad = {"email": "not-an-email", "role": "boss", "extra": 1}
    zh = body(ops.post("/api/users", json=bad, headers=ZH), 422)
    assert zh["message"] == "部分字段有误。"
    assert zh["errors"]["extra"] == ["未知字段。"]
    assert zh["errors"]["role"] == ["必须是以下之一：ops, contractor, reviewer。"]  # OneOf keeps its parameters
    assert zh["status"] == "Unprocessable Entity"  # the status stays the HTTP reason phrase

    en = body(ops.post("/api/users", json=bad, headers=EN), 422)
    assert en["message"] == "Some fields are invalid."
    assert en["errors"]["extra"] == ["Unknown field."]
    assert en["errors"]["role"] == ["Must be one of: ops, contractor, reviewer."]


def test_marshmallow_range_and_type_messages_keep_their_numbers_in_chinese(ops):
    zh = body(ops.get("/api/users?page=0&page_size=abc", headers=ZH), 422)
    assert zh["errors"]["page"] == ["必须大于或等于 1，且小于或等于 1000000。"]
    assert zh["errors"]["page_size"] == ["不是有效的整数。"]
    en = body(ops.get("/api/users?page=0&page_size=abc", headers=EN), 422)
    assert en["errors"]["page"] == ["Must be greater than or equal to 1 and less than or equal to 1000000."]
    assert en["errors"]["page_size"] == ["Not a valid integer."]


def test_a_missing_required_field_and_a_bad_date_in_chinese(ops):
    zh = body(ops.post("/api/audits", json={"period_from": "2026-13-01"}, headers=ZH), 422)
    assert zh["errors"]["period_from"] == ["不是有效的日期。"]
    assert zh["errors"]["period_to"] == ["此项为必填项。"]


def test_a_body_that_is_not_json_says_so_in_chinese(ops):
    resp = ops.post("/api/users", data="{not json", headers={**ZH, "Content-Type": "application/json"})
    assert body(resp, 400)["errors"] == {"_schema": ["请求正文不是有效的 JSON。"]}


def test_a_409_from_a_service_in_chinese_and_in_english(ops):
    ops.post("/api/users", json={"email": "dup@example.cn", "role": "reviewer"})
    zh = body(ops.post("/api/users", json={"email": "dup@example.cn", "role": "reviewer"}, headers=ZH), 409)
    assert zh == {"code": 409, "status": "Conflict", "message": "用户 dup@example.cn 已存在。", "errors": {"email": ["已存在。"]}}
    en = body(ops.post("/api/users", json={"email": "dup@example.cn", "role": "reviewer"}, headers=EN), 409)
    assert en["message"] == "User dup@example.cn already exists." and en["errors"] == {"email": ["Already exists."]}


def test_an_illegal_device_move_names_the_states_by_their_chinese_labels(ops, ctx):
    device = make_devices(make_po(quantity=2), 1)[0]
    zh = body(ops.post(f"/api/devices/{device.id}/transition", json={"to": "installed"}, headers=ZH), 409)
    assert zh["message"] == "只有安装工单才能把设备变为已安装；在库（in_stock） → 已安装（installed） 不能手动操作。"
    assert zh["errors"] == {"to": [zh["message"]]}
    en = body(ops.post(f"/api/devices/{device.id}/transition", json={"to": "installed"}, headers=EN), 409)
    assert en["message"] == "Only an installation work order moves a device into installed; in_stock -> installed cannot be done by hand."


def test_a_404_from_a_service_and_from_the_router_in_chinese(ops):
    assert body(ops.delete("/api/tokens/999999", headers=ZH), 404)["message"] == "没有该令牌。"
    assert body(ops.delete("/api/tokens/999999", headers=EN), 404)["message"] == "No such token."
    assert body(ops.get("/api/work-orders/999999", headers=ZH), 404)["message"] == "没有工单 999999。"
    router = body(ops.get("/api/no-such-resource", headers=ZH), 404)
    assert router["message"] == "服务器上找不到所请求的地址。如果是手动输入的网址，请检查拼写后重试。"
    assert body(ops.put("/api/me", json={}, headers=ZH), 405)["message"] == "所请求的地址不允许使用该请求方法。"


def test_a_403_role_refusal_names_the_role_in_chinese(reviewer, contractor):
    zh = body(reviewer.get("/api/users", headers=ZH), 403)
    assert zh["status"] == "Forbidden" and zh["message"] == "此操作需要运营管理角色。"
    assert body(reviewer.get("/api/users", headers=EN), 403)["message"] == "This needs the role ops."
    both = body(reviewer.get("/api/work-orders", headers=ZH), 403)["message"]
    assert both == "此操作需要运营管理或安装单位角色。"
    assert body(reviewer.get("/api/work-orders", headers=EN), 403)["message"] == "This needs the role ops or contractor."


def test_a_401_asks_to_log_in_in_chinese(anon):
    assert body(anon.get("/api/users", headers=ZH), 401)["message"] == "请先登录，或在请求中附带 Authorization: Bearer 令牌。"


def _export():
    builder = ExportBuilder(seed=3)
    operator = builder.operator("445103")
    return [builder.policy(builder.truck(operator, "重型半挂牵引车"), "商业险")]


def _import(client, data, headers):
    return client.post("/api/policies/import", data={"file": (io.BytesIO(data), "保单导出.csv")},
                       content_type="multipart/form-data", headers=headers)


def test_an_import_with_bad_rows_lists_them_in_chinese(ops):
    rows = _export()
    rows[0] = {**rows[0], "车架号": "LZZ1BAD", "车牌号码": "U12345"}
    zh = body(_import(ops, to_csv(rows), ZH), 422)
    assert zh["message"] == "1 行有误，未导入任何数据。"
    messages = {r["column"]: r["message"] for r in zh["rows"]}
    assert messages == {"车架号": "车架号必须是 17 位，实际为 7 位。",
                        "车牌号码": "车牌号码必须以省份简称（如“粤”）开头，实际为 'U'。"}
    en = body(_import(ops, to_csv(rows), EN), 422)
    assert en["message"] == "1 row(s) are invalid; nothing was imported."
    assert {r["message"] for r in en["rows"]} == {"VIN must be 17 characters, got 7.",
                                                 "Plate must start with a province character such as 粤, got 'U'."}


def test_a_missing_column_is_named_as_a_chinese_file_names_it(ops):
    headers = [h for h in HEADERS if h != "车架号"]
    zh = body(_import(ops, to_csv(_export(), headers), ZH), 422)
    assert zh["rows"] == [{"row": 1, "column": "车架号", "message": "缺少列“车架号”。"}]
    en = body(_import(ops, to_csv(_export(), headers), EN), 422)
    assert en["rows"] == [{"row": 1, "column": "vin", "message": "Missing column 'vin'."}]


def test_the_users_own_language_wins_over_the_browsers(app, ops):
    with app.app_context():
        db.session.get(User, ops.user).locale = "zh_CN"
        db.session.commit()
    assert body(ops.delete("/api/tokens/999999", headers=EN), 404)["message"] == "没有该令牌。"
    assert body(ops.delete("/api/tokens/999999"), 404)["message"] == "没有该令牌。"


def test_outside_a_request_messages_are_in_the_default_language(app):
    from insurer_dms.errors import NotFound
    from insurer_dms.installs import service

    with app.app_context():
        with pytest.raises(NotFound) as caught:
            service.get_order(999999)
    assert caught.value.message == "No work order 999999." and str(caught.value) == "No work order 999999."


# ---- pages ----------------------------------------------------------------------------------------------


def test_a_refused_page_form_flashes_in_chinese(ops, ctx):
    device = make_devices(make_po(quantity=2), 1, status="faulty")[0]
    zh = ops.post(f"/devices/{device.id}/transition", data={"to": "in_stock"}, headers=ZH, follow_redirects=True)
    assert "设备不能从故障（faulty）变为在库（in_stock）。" in zh.get_data(as_text=True)
    en = ops.post(f"/devices/{device.id}/transition", data={"to": "in_stock"}, headers=EN, follow_redirects=True)
    assert "A device cannot go from faulty to in_stock." in en.get_data(as_text=True)


def test_an_import_page_lists_the_bad_rows_in_chinese(ops):
    rows = _export()
    rows[0] = {**rows[0], "车架号": "LZZ1BAD"}
    resp = ops.post("/policies/import", data={"file": (io.BytesIO(to_csv(rows)), "保单导出.csv")},
                    content_type="multipart/form-data", headers=ZH)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "1 行有误，未导入任何数据。" in html and "车架号必须是 17 位，实际为 7 位。" in html


def test_the_error_page_shows_the_service_message_in_chinese(ops):
    resp = ops.get("/trucks/999999", headers={**ZH, "Accept": "text/html"})
    assert resp.status_code == 404 and "没有 id 为 999999 的车辆。" in resp.get_data(as_text=True)


def test_what_a_user_typed_is_escaped_inside_a_translated_message(ops, ctx):
    resp = ops.post("/tickets/new", data={"plate": "<b>粤U</b>", "category": "camera_fault"}, headers=ZH)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "没有车辆 &lt;b&gt;粤U&lt;/b&gt;。" in html and "<b>粤U</b>" not in html


def test_a_closed_orders_review_flags_are_shown_in_chinese(ops, ctx):
    from insurer_dms.installs import service

    order = f.scheduled_order()
    f.with_photos(order, f.INSTALLED_AT, kinds=["device_mounted", "driver_camera"])
    f.with_photos(order, f.INSTALLED_AT - dt.timedelta(days=2), kinds=["plate"])
    next(p for p in order.photos if p.kind == "driver_camera").captured_at = None  # a camera without EXIF
    db.session.commit()

    service.close_order(None, order.id, f.close_data(f.stock_device()))
    stored = order.review_note
    assert stored.splitlines() == ["Photos taken on another day than the install (2024-05-20): plate (2024-05-18).",
                                   "Photos without an EXIF capture time: driver_camera."]
    zh = ops.get(f"/work-orders/{order.id}", headers=ZH).get_data(as_text=True)
    assert "拍摄日期与安装日期（2024-05-20）不一致的照片：车牌号码（plate）（2024-05-18 拍摄）。" in zh
    assert "没有 EXIF 拍摄时间的照片：驾驶员摄像头画面（driver_camera）。" in zh
    en = ops.get(f"/work-orders/{order.id}", headers=EN).get_data(as_text=True)
    assert "Photos without an EXIF capture time: driver_camera." in en


def test_a_signals_ticket_description_is_shown_in_chinese(ops, ctx):
    from insurer_dms.maintenance import signals, tickets

    truck = f.insured_truck()
    note = "Not seen by the provincial platform since 2025-03-18 09:30."
    ticket, _opened = tickets.signal(truck.id, "device_offline", "platform_offline", note=note)
    db.session.commit()
    zh = ops.get(f"/tickets/{ticket.id}", headers=ZH).get_data(as_text=True)
    assert "自 2025-03-18 09:30 起省级监管平台未见该设备上线。" in zh
    assert note in ops.get(f"/tickets/{ticket.id}", headers=EN).get_data(as_text=True)
    assert signals.shown("camera lens cracked") == "camera lens cracked"  # what a person typed stays as typed


# ---- a contractor's phone in Chinese (Chromium) ---------------------------------------------------------


@pytest.fixture
def zh_phone(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True)
    phone = context.new_page()
    phone.set_default_timeout(15000)
    yield phone
    context.close()


def test_a_contractor_is_told_in_chinese_why_the_close_form_was_refused(app, live_server, zh_phone):
    from insurer_dms.auth.service import create_user

    with app.app_context():
        create_user("tech@zh.example.com", "contractor", "password123", "Alpha Installations")
        order = f.scheduled_order()
        order_id, serial = order.id, f.stock_device().serial
    zh_phone.goto(live_server.url("/login"))
    zh_phone.fill("input[name=email]", "tech@zh.example.com")
    zh_phone.fill("input[name=password]", "password123")
    zh_phone.click("#login-submit")
    zh_phone.wait_for_url(lambda url: "/login" not in url)

    zh_phone.goto(live_server.url(f"/my/orders/{order_id}"))
    zh_phone.fill("#device_serial", serial)
    zh_phone.fill("#iccid", f.iccid())
    zh_phone.fill("#msisdn", f.msisdn())
    zh_phone.fill("#installed_at", "2024-05-20T10:30")
    zh_phone.click("#close-submit")  # no photos yet
    zh_phone.wait_for_selector(".flash.error")
    assert "无法关闭该工单，请修正所列字段。" in zh_phone.inner_text(".flash.error")
    assert "缺少必需的照片：设备安装照（device_mounted）、驾驶员摄像头画面（driver_camera）、车牌号码（plate）。" in (
        zh_phone.inner_text("body"))
    with app.app_context():
        assert db.session.get(type(order), order_id).state == "scheduled"


def test_a_csrf_refusal_speaks_the_users_language(app, ctx):
    from insurer_dms.auth.service import create_user
    from tests.audit_query_factories import session_client

    create_user("csrf-zh@example.com", "ops", "password123")
    client = session_client(app, "csrf-zh@example.com")
    zh = body(client.post("/api/work-orders", json={"truck_id": 1}, headers=ZH), 400)
    assert zh["message"] == "缺少 CSRF 令牌，请刷新页面后重试。"
    en = body(client.post("/api/work-orders", json={"truck_id": 1}, headers={**EN, "X-CSRFToken": "junk"}), 400)
    assert en["message"] == "The CSRF token is invalid."
