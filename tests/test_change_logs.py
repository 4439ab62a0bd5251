"""Change logs and times as people read them: the history tables of the detail pages in words (field labels, names
for ids, state labels, "before → after"), never a dict, an id or a column name; every time in Beijing time, one
format, formatted on the server (insurer_dms/activity_text.py, insurer_dms/times.py)."""
import datetime as dt
import html as html_lib
import re

import pytest
from sqlalchemy import event, select

from insurer_dms.activity import Activity
from insurer_dms.activity_text import change_log
from insurer_dms.extensions import db
from tests import install_factories as f
from tests import statement_factories as sf
from tests import ticket_factories as tf
from tests.factories import csv_bytes, make_devices, make_po, upload

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US,en;q=0.9"}
MOMENT = dt.datetime(2026, 12, 7, 23, 30, tzinfo=dt.timezone.utc)  # 2026-12-08 07:30 in Chaozhou
SHOWN = "2026-12-08 07:30"
COMPANY = "潮州安驰安装有限公司"
# What a raw dict, a column name or a UTC time leaves behind in a change log.
RESIDUE = ("{", "}", "None", "_id", "'", "+00:00", "UTC", "T23:30")


@pytest.fixture
def at_moment():
    """Activity entries written from now on carry MOMENT as their time."""

    def stamp(mapper, connection, entry):
        entry.at = MOMENT

    event.listen(Activity, "before_insert", stamp)
    yield
    event.remove(Activity, "before_insert", stamp)


def page_of(client, url, headers=ZH):
    resp = client.get(url, headers=headers)
    assert resp.status_code == 200, url
    return resp.get_data(as_text=True)


def table_text(page, table_id="history"):
    """The text of the table ``table_id``: tags dropped, entities read, one space between cells."""
    found = re.search(rf'<table id="{table_id}"[^>]*>(.*?)</table>', page, re.S)
    assert found, table_id
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", found[1])).split())


def assert_readable(text):
    left = [residue for residue in RESIDUE if residue in text]
    assert left == [], (left, text)


def assert_no_utc(page):
    assert [r for r in ("+00:00", "UTC", "T23:30") if r in page] == []


def assign_and_schedule(ops, order):
    """Ops assign ``order`` to COMPANY on its page, the company then books MOMENT."""
    from insurer_dms.installs import service

    company = f.company(COMPANY)
    assert ops.post(f"/work-orders/{order.id}/assign", data={"company_id": company.id}).status_code == 302
    service.schedule(None, order.id, MOMENT, "潮州市湘桥区站前路1号")
    return company


def test_a_work_order_history_says_who_it_was_assigned_to_and_what_changed_in_chinese(ops, ctx, at_moment):
    order = f.open_order()
    assign_and_schedule(ops, order)
    page = page_of(ops, f"/work-orders/{order.id}")
    history = table_text(page)
    assert f"分配给 {COMPANY}" in history
    assert "待派单 → 已派单" in history and "已派单 → 已预约" in history
    assert f"预约时间：— → {SHOWN}" in history and "安装地址：— → 潮州市湘桥区站前路1号" in history
    assert "创建" in history and "ops@example.com" in history
    assert history.count(SHOWN) >= 4  # the three entries' times and the appointment
    assert_readable(history)
    assert f"预约时间</th><td>{SHOWN}" in page  # the detail above the log: the same moment
    assert_no_utc(page)


def test_the_same_work_order_history_reads_in_english_for_an_english_reader(ops, ctx, at_moment):
    order = f.open_order()
    assign_and_schedule(ops, order)
    history = table_text(page_of(ops, f"/work-orders/{order.id}", EN))
    assert f"Assigned to {COMPANY}" in history
    assert "Open → Assigned" in history and "Assigned → Scheduled" in history
    assert f"Appointment: — → {SHOWN}" in history and "created" in history
    assert not re.search(r"[\u4e00-\u9fff]", history.replace(COMPANY, "").replace("潮州市湘桥区站前路1号", ""))
    assert_readable(history)


def test_a_reassignment_shows_both_companies_by_name(ops, ctx, at_moment):
    order = f.assigned_order("Alpha Installations")
    company = f.company(COMPANY)
    assert ops.post(f"/work-orders/{order.id}/assign", data={"company_id": company.id}).status_code == 302
    history = table_text(page_of(ops, f"/work-orders/{order.id}"))
    assert f"安装单位：Alpha Installations → {COMPANY}" in history
    assert_readable(history)


def test_a_ticket_history_opens_with_the_verb_names_the_company_and_shows_beijing_time(ops, ctx):
    ticket = tf.installed_truck_with_ticket("in_progress", company_name=COMPANY, opened_at=MOMENT)
    page = page_of(ops, f"/tickets/{ticket.id}")
    events = table_text(page, "ticket-events")
    assert "开单" in events and "创建时间" not in events  # the event is a verb, not the time column's label
    assert f"分配给 {COMPANY}" in events and "待派单 → 已派单" in events
    assert SHOWN in events and SHOWN in table_text(page, "ticket-facts")
    assert "job:" not in events
    assert_readable(events)
    assert_no_utc(page)
    listed = page_of(ops, "/tickets")
    assert SHOWN in listed and ticket.number in listed
    assert_no_utc(listed)


def test_a_ticket_cost_shows_its_category_and_amount_with_two_decimals(ops, ctx):
    from decimal import Decimal

    from insurer_dms.maintenance import tickets

    ticket = tf.installed_truck_with_ticket("in_progress")
    tickets.add_cost_line(ticket, "parts", Decimal("80.5"), "Fuse")
    db.session.commit()
    events = table_text(page_of(ops, f"/tickets/{ticket.id}"), "ticket-events")
    assert "配件费 80.50" in events
    assert_readable(events)


def test_a_device_history_reads_in_state_labels_in_beijing_time(ops, ctx):
    device = make_devices(make_po(), 1)[0]
    resp = ops.post(f"/devices/{device.id}/transition", data={"to": "faulty", "note": "camera dead"})
    assert resp.status_code == 302
    page = page_of(ops, f"/devices/{device.id}")
    history = table_text(page, "device-history")
    assert "在库" in history and "故障" in history and "camera dead" in history
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", history)
    assert_readable(history)
    assert_no_utc(page)


def test_a_sim_history_names_the_plans_and_the_states(ops, ctx, at_moment):
    from insurer_dms.sims import registry

    first, second = sf.plan(code="CM-A"), sf.plan(code="CM-B")
    first.name, second.name = "物联网 1G", "物联网 2G"
    db.session.commit()
    sim = sf.sim(first)
    registry.update_sim(sim.id, {"plan_id": second.id})
    registry.update_sim(sim.id, {"status": "suspended", "deactivated_on": dt.date(2026, 12, 8), "note": "欠费"})
    history = table_text(page_of(ops, f"/sims/{sim.id}"))
    assert "流量套餐：物联网 1G → 物联网 2G" in history
    assert "已激活 → 已停机" in history and "停用日期：2026-12-08" in history and "欠费" in history
    assert "更新" in history and SHOWN in history
    assert_readable(history)


def test_a_statement_upload_and_its_replacement_read_in_words(ops, ctx, app, monkeypatch, at_moment):
    from tests.test_statements_ingest import EN as HEADERS
    from tests.test_statements_ingest import lines

    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # uploads stay queued
    first = upload(ops, "/api/statements", csv_bytes(HEADERS, lines(3)), "september.csv").json
    upload(ops, "/api/statements", csv_bytes(HEADERS, lines(4)), "september-fixed.csv")
    page = page_of(ops, f"/statements/{first['id']}")
    history = table_text(page)
    assert "创建" in history and "september.csv，共 3 行" in history
    assert "排队中 → 已被取代" in history and "由第 2 版取代。" in history
    assert SHOWN in history
    assert_readable(history)
    assert_no_utc(page)


def test_a_published_audit_lists_its_files_by_name_not_as_a_dict(ops, ctx):
    from tests.audit_factories import published_audit, seeded_history

    audit = published_audit(ops, seeded_history())
    page = page_of(ops, f"/audits/{audit['id']}")
    history = table_text(page)
    assert "发布" in history and "状态：草稿 → 已发布" in history
    assert "文件：CSV、XLSX、PDF（中文）、PDF（英文）" in history
    assert "排队中 → 草稿" in history and "审计发现数" in history
    assert_readable(history)
    assert_no_utc(page)


def test_a_truck_history_uses_field_labels_names_and_code_labels(ops, ctx):
    from insurer_dms.fleet import service

    truck = f.insured_truck()
    other = f.operator(name="潮州市顺达运输有限公司")
    service.update_truck(truck.id, {"operator_id": other.id, "vehicle_type": "semi_trailer_tractor", "plate_colour": 1})
    history = table_text(page_of(ops, f"/trucks/{truck.id}"))
    assert "经营业户：" in history and "→ 潮州市顺达运输有限公司" in history
    assert "车辆类型：载货汽车 → 半挂牵引车" in history and "车牌颜色：黄色 → 蓝色" in history
    assert_readable(history)


def test_ids_are_resolved_with_one_query_per_kind_of_record_whatever_the_number_of_entries(app, ops, ctx):
    for n in range(4):
        f.assigned_order(f"Company {n}")
    entries = db.session.scalars(select(Activity).where(Activity.entity_type == "work_order")).all()
    assert len(entries) == 8
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with app.test_request_context(headers=EN):
            shown = change_log(entries)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1 and "contractor_company" in statements[0]
    assert [line for entry in shown for line in entry.lines] == [f"Assigned to Company {n}" for n in range(4)]


def test_an_unknown_field_is_humanised_and_a_nested_value_never_shows_as_a_dict(app, ctx):
    entry = Activity(id=1, at=MOMENT, actor="job:jobs.x.y", action="update", entity_type="work_order", entity_id="1",
                     before={"removal_reason": None, "widget_id": 3, "flags": {"needs_review": True}},
                     after={"removal_reason": "truck_sold", "widget_id": 4, "flags": {"needs_review": False}})
    with app.test_request_context(headers=EN):
        [shown] = change_log([entry])
    assert shown.at == SHOWN and shown.who == "Automatic job" and shown.what == "updated"
    assert shown.lines == ["Removal reason: — → truck_sold", "Widget: #3 → #4",
                           "Flags: Needs review: Yes → Needs review: No"]


def test_a_query_history_names_the_people_and_the_refund(ops, reviewer, ctx):
    from decimal import Decimal

    from insurer_dms.audits import queries
    from insurer_dms.auth.models import User
    from tests import audit_query_factories as aq

    finding = aq.published_finding()
    asker, answerer = db.session.get(User, reviewer.user), db.session.get(User, ops.user)
    query = queries.raise_query(asker, finding.audit_id, finding.id, "为何自主系数上调？")
    queries.answer(answerer, query.id, "费率备案 2024-03。")
    queries.close(asker, query.id, "upheld", "备案晚于续保。", Decimal("918"))
    for client in (reviewer, ops):
        history = table_text(page_of(client, f"/review/queries/{query.id}" if client is reviewer else f"/queries/{query.id}"))
        assert "答复人：— → ops@example.com" in history and "答复内容：— → 费率备案 2024-03。" in history
        assert "退费金额：— → 918.00" in history and "结案人：— → reviewer@nfra.example.com" in history
        assert_readable(history)


def test_policy_catalogue_and_plan_histories_read_in_words(ops, ctx):
    from decimal import Decimal

    from insurer_dms.catalogue import service as catalogue
    from insurer_dms.fleet import service as fleet
    from insurer_dms.fleet.models import Policy
    from insurer_dms.sims import plans
    from tests.factories import make_entry

    truck = f.insured_truck()
    policy = db.session.scalar(select(Policy).where(Policy.truck_id == truck.id))
    fleet.update_policy(policy.id, {"premium": Decimal("4321.5"), "end_date": dt.date(2027, 1, 1),
                                    "autonomous_coefficient": Decimal("0.9000")})
    history = table_text(page_of(ops, f"/policies/{policy.id}"))
    assert "→ 4321.50" in history and "终保日期：" in history and "→ 2027-01-01" in history
    assert "自主定价系数：" in history and "更新" in history
    assert_readable(history)

    entry = make_entry()
    catalogue.withdraw_entry(entry.id, dt.date(2021, 9, 30))
    history = table_text(page_of(ops, f"/catalogue/{entry.id}"))
    assert "撤销日期：— → 2021-09-30" in history
    assert_readable(history)

    plan = sf.plan(code="CM-X")
    plans.update_plan(plan.id, {"monthly_fee": Decimal("12"), "name": "物联网 3G"})
    history = table_text(page_of(ops, f"/data-plans/{plan.id}"))
    assert "月费：30.00 → 12.00" in history and "名称：test plan → 物联网 3G" in history
    assert_readable(history)


def test_one_formatter_for_every_time_a_page_shows():
    from insurer_dms.times import local_date, local_time

    assert local_time(MOMENT) == local_time("2026-12-07T23:30:00+00:00") == local_time("2026-12-07T23:30:00") == SHOWN
    assert local_time(MOMENT.astimezone(dt.timezone(dt.timedelta(hours=-5)))) == SHOWN
    assert local_date(MOMENT) == "2026-12-08" and local_date(dt.date(2026, 12, 7)) == "2026-12-07"
    assert local_time(dt.date(2026, 12, 7)) == "2026-12-07"  # a date stays a date
    assert local_time(None) == local_date(None) == ""


def test_a_removal_orders_reason_reads_as_its_label_in_the_history(app, ctx):
    entry = Activity(id=1, at=MOMENT, actor="job:jobs.x.y", action="update", entity_type="work_order", entity_id="1",
                     before={"reason": "policy_lapsed"}, after={"reason": "truck_sold"})
    with app.test_request_context(headers=ZH):
        [shown] = change_log([entry])
    assert shown.lines == ["原因：保单失效 → 车辆已出售"]
