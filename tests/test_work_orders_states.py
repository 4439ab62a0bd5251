"""The work-order state machine, contractor scoping and roles on every work-order endpoint."""
import datetime as dt

import pytest

from insurer_dms.activity import history
from insurer_dms.errors import Conflict, Invalid, NotFound
from insurer_dms.installs import service
from insurer_dms.installs.models import ORDER_STATES
from insurer_dms.installs.service import TRANSITIONS
from tests import install_factories as f

APPOINTMENT = dt.datetime(2024, 5, 20, 9, 0, tzinfo=f.LOCAL_TZ)


# ---- the state machine -----------------------------------------------------------------------------------


def test_every_state_is_in_the_transition_table():
    assert set(TRANSITIONS) == set(ORDER_STATES)
    assert all(set(targets) <= set(ORDER_STATES) for targets in TRANSITIONS.values())
    assert TRANSITIONS["completed"] == () and TRANSITIONS["cancelled"] == ()


def test_open_assigned_scheduled_installed_connected(ctx):
    order = f.open_order()
    company = f.company("Alpha Installations")
    assert service.assign(order.id, company.id).state == "assigned"
    order = service.schedule(None, order.id, APPOINTMENT, "潮州市湘桥区")
    assert order.state == "scheduled" and order.appointment_at == APPOINTMENT and order.address == "潮州市湘桥区"
    f.with_photos(order)
    order = service.close_order(None, order.id, f.close_data(f.stock_device()))
    assert order.state == "installed"
    service.move_order(order, "connected", connected_at=f.INSTALLED_AT + dt.timedelta(hours=1))
    assert order.state == "connected"
    actions = [a.action for a in history("work_order", order.id)]
    assert actions == ["create", "state:open->assigned", "state:assigned->scheduled", "state:scheduled->installed",
                       "state:installed->connected"]


def test_reassigning_and_rescheduling(ctx):
    order = f.scheduled_order("Alpha Installations")
    moved = service.assign(order.id, f.company("Beta Installations").id)
    assert moved.state == "assigned" and moved.company.name == "Beta Installations" and moved.appointment_at is None
    service.schedule(None, order.id, APPOINTMENT)
    later = service.schedule(None, order.id, APPOINTMENT + dt.timedelta(days=1))
    assert later.state == "scheduled" and later.appointment_at == APPOINTMENT + dt.timedelta(days=1)


@pytest.mark.parametrize("setup", ["open", "assigned", "scheduled"])
def test_cancel_before_installation(ctx, setup):
    order = {"open": f.open_order, "assigned": f.assigned_order, "scheduled": f.scheduled_order}[setup]()
    cancelled = service.cancel(order.id, "truck sold before the appointment")
    assert cancelled.state == "cancelled"
    assert history("work_order", order.id)[-1].note == "truck sold before the appointment"


def test_cancel_needs_a_reason(ctx):
    with pytest.raises(Invalid) as caught:
        service.cancel(f.open_order().id, "  ")
    assert "reason" in caught.value.errors


def test_an_installed_order_cannot_be_cancelled_or_reassigned(ctx):
    order = f.installed_order()
    with pytest.raises(Conflict) as caught:
        service.cancel(order.id, "changed my mind")
    assert caught.value.message == "A work order cannot go from installed to cancelled."
    with pytest.raises(Conflict):
        service.assign(order.id, f.company().id)


@pytest.mark.parametrize(
    "state, action",
    [("open", "schedule"), ("open", "rework"), ("cancelled", "assign"), ("cancelled", "schedule"), ("assigned", "rework"),
     ("open", "close"), ("assigned", "close")],
)
def test_illegal_moves_are_refused_naming_from_and_to(ctx, state, action):
    order = f.open_order()
    if state == "assigned":
        service.assign(order.id, f.company().id)
    if state == "cancelled":
        service.cancel(order.id, "duplicate")
    call = {
        "schedule": lambda: service.schedule(None, order.id, APPOINTMENT),
        "rework": lambda: service.send_to_rework(order.id, "photo blurred"),
        "assign": lambda: service.assign(order.id, f.company().id),
        "close": lambda: service.close_order(None, order.id, f.close_data(f.stock_device())),
    }[action]
    target = {"schedule": "scheduled", "rework": "rework", "assign": "assigned", "close": "installed"}[action]
    with pytest.raises(Conflict) as caught:
        call()
    assert caught.value.message == f"A work order cannot go from {state} to {target}."
    assert "state" in caught.value.errors


def test_rework_goes_back_to_the_contractor_and_is_closed_again_with_the_same_device(ctx):
    from insurer_dms.ledger.service import entries_for

    order = f.installed_order()
    serial = order.device.serial
    reworked = service.send_to_rework(order.id, "plate photo unreadable")
    assert reworked.state == "rework" and reworked.review_note == "plate photo unreadable"
    service.schedule(None, order.id, APPOINTMENT + dt.timedelta(days=2))
    again = service.close_order(None, order.id, f.close_data(order.device))
    assert again.state == "installed" and again.device.serial == serial
    assert len(entries_for("work_order", order.id)) == 1  # the fee is paid once
    with pytest.raises(Conflict):
        service.move_order(again, "open")


def test_rework_needs_a_note(ctx):
    with pytest.raises(Invalid):
        service.send_to_rework(f.installed_order().id, "")


def test_schedule_takes_a_local_time_without_a_zone(ctx):
    order = f.assigned_order()
    naive = dt.datetime(2024, 5, 20, 9, 0)
    assert service.schedule(None, order.id, naive).appointment_at == APPOINTMENT


def test_assign_to_an_unknown_company_names_the_field(ctx):
    with pytest.raises(Invalid) as caught:
        service.assign(f.open_order().id, 999)
    assert "company_id" in caught.value.errors


def test_a_contractor_cannot_reach_another_companys_order_in_the_service(app, contractor):
    from insurer_dms.auth.models import User
    from insurer_dms.extensions import db

    with app.app_context():
        theirs = f.assigned_order("Beta Installations").id
        mine = f.assigned_order("Alpha Installations").id
        user = db.session.get(User, contractor.user)
        with pytest.raises(NotFound):
            service.get_order_for(user, theirs)
        assert service.get_order_for(user, mine).id == mine
        assert [o.id for o in db.session.scalars(service.orders_query(user))] == [mine]


# ---- the API: scoping and roles --------------------------------------------------------------------------


def test_contractor_lists_only_its_own_companys_orders(app, contractor, other_contractor, ops):
    with app.app_context():
        mine = f.assigned_order("Alpha Installations").id
        theirs = f.assigned_order("Beta Installations").id
        f.open_order()
    assert [o["id"] for o in contractor.get("/api/work-orders").json["items"]] == [mine]
    assert [o["id"] for o in other_contractor.get("/api/work-orders").json["items"]] == [theirs]
    assert ops.get("/api/work-orders").json["total"] == 3
    beta = other_contractor.get(f"/api/work-orders/{theirs}").json["company"]["id"]
    assert contractor.get(f"/api/work-orders?company_id={beta}").json["total"] == 0  # a filter cannot widen the scope


def test_list_filters(app, ops):
    with app.app_context():
        open_one = f.open_order(f.insured_truck(county="445122"))
        scheduled = f.scheduled_order()
        plate = scheduled.truck.plate
        number = open_one.number
    assert [o["id"] for o in ops.get("/api/work-orders?state=scheduled").json["items"]] == [scheduled.id]
    assert [o["id"] for o in ops.get("/api/work-orders?county_code=445122").json["items"]] == [open_one.id]
    assert [o["id"] for o in ops.get(f"/api/work-orders?q={plate}").json["items"]] == [scheduled.id]
    assert [o["id"] for o in ops.get(f"/api/work-orders?q={number}").json["items"]] == [open_one.id]
    day = APPOINTMENT.date() - dt.timedelta(days=1)
    on_day = ops.get(f"/api/work-orders?date_from={f.INSTALLED_AT.date()}&date_to={f.INSTALLED_AT.date()}").json["items"]
    assert [o["id"] for o in on_day] == [scheduled.id]
    assert ops.get(f"/api/work-orders?date_to={day}").json["total"] == 0
    assert "state" in ops.get("/api/work-orders?state=done").json["errors"]


def _contractor_calls(order_id):
    return [
        ("get", f"/api/work-orders/{order_id}", None),
        ("post", f"/api/work-orders/{order_id}/schedule", {"appointment_at": "2024-05-20T09:00:00+08:00"}),
        ("post", f"/api/work-orders/{order_id}/close",
         {"device_serial": "SN1", "iccid": f.iccid(1), "msisdn": f.msisdn(1), "installed_at": "2024-05-20T10:00:00+08:00"}),
        ("post", f"/api/work-orders/{order_id}/close-removal", {"disposition": "in_stock"}),
    ]


def _ops_calls(order_id):
    return [
        ("post", f"/api/work-orders/{order_id}/assign", {"company_id": 1}),
        ("post", f"/api/work-orders/{order_id}/cancel", {"reason": "duplicate"}),
        ("post", f"/api/work-orders/{order_id}/rework", {"note": "photo blurred"}),
    ]


def test_a_contractor_gets_404_for_another_companys_order_on_every_endpoint(app, contractor):
    with app.app_context():
        theirs = f.scheduled_order("Beta Installations").id
    for method, url, body in _contractor_calls(theirs):
        resp = getattr(contractor, method)(url, json=body) if body else getattr(contractor, method)(url)
        assert resp.status_code == 404, (url, resp.json)
    for method, url, body in _ops_calls(theirs):
        assert getattr(contractor, method)(url, json=body).status_code == 403, url


def test_a_contractor_gets_403_on_ops_endpoints_even_for_its_own_order(app, contractor):
    with app.app_context():
        mine = f.scheduled_order("Alpha Installations").id
    for method, url, body in _ops_calls(mine):
        assert getattr(contractor, method)(url, json=body).status_code == 403, url
    assert contractor.get(f"/api/work-orders/{mine}").status_code == 200


def test_reviewers_get_403_and_anonymous_401_everywhere(app, reviewer, anon):
    with app.app_context():
        order_id = f.scheduled_order().id
    calls = [("get", "/api/work-orders", None), ("post", "/api/work-orders", {"truck_id": 1}),
             ("post", "/api/work-orders/bulk", {"county_code": "445102"}),
             ("get", "/api/contractor-companies", None), ("get", "/api/contractor-companies/1", None),
             ("patch", "/api/contractor-companies/1", {"installation_fee": "1.00"})]
    calls += _contractor_calls(order_id) + _ops_calls(order_id)
    for method, url, body in calls:
        kw = {"json": body} if body else {}
        assert getattr(reviewer, method)(url, **kw).status_code == 403, url
        assert getattr(anon, method)(url, **kw).status_code == 401, url


def test_the_orders_contractor_schedules_and_ops_assigns_cancels_and_sends_to_rework(app, ops, contractor):
    with app.app_context():
        order_id = f.open_order().id
        alpha = f.company("Alpha Installations").id
    resp = ops.post(f"/api/work-orders/{order_id}/assign", json={"company_id": alpha})
    assert resp.status_code == 200 and resp.json["state"] == "assigned" and resp.json["company"]["id"] == alpha
    resp = contractor.post(f"/api/work-orders/{order_id}/schedule", json={"appointment_at": "2024-05-20T09:00:00", "address": "站前路"})
    assert resp.status_code == 200, resp.json
    assert resp.json["state"] == "scheduled" and resp.json["appointment_at"].startswith("2024-05-20T01:00:00")
    assert ops.post(f"/api/work-orders/{order_id}/rework", json={"note": "x"}).status_code == 409
    resp = ops.post(f"/api/work-orders/{order_id}/cancel", json={"reason": "driver refused"})
    assert resp.status_code == 200 and resp.json["state"] == "cancelled"
    resp = ops.post(f"/api/work-orders/{order_id}/assign", json={"company_id": alpha})
    assert resp.status_code == 409 and resp.json["message"] == "A work order cannot go from cancelled to assigned."
    assert "reason" in ops.post(f"/api/work-orders/{order_id}/cancel", json={"reason": " "}).json["errors"]
    assert ops.get("/api/work-orders/999").status_code == 404


# ---- contractor companies --------------------------------------------------------------------------------


def test_ops_lists_companies_and_sets_the_installation_fee(app, ops, contractor):
    with app.app_context():
        alpha = f.company("Alpha Installations").id
    listed = ops.get("/api/contractor-companies").json["items"]
    assert [c["name"] for c in listed] == ["Alpha Installations"]
    assert listed[0]["installation_fee"] is None and listed[0]["effective_fee"] == "300.00"
    resp = ops.patch(f"/api/contractor-companies/{alpha}", json={"installation_fee": "260.50"})
    assert resp.status_code == 200 and resp.json["installation_fee"] == "260.50" and resp.json["effective_fee"] == "260.50"
    assert "installation_fee" in ops.patch(f"/api/contractor-companies/{alpha}", json={"installation_fee": "-1"}).json["errors"]
    assert "installation_fee" in ops.patch(f"/api/contractor-companies/{alpha}", json={"installation_fee": "1.234"}).json["errors"]
    assert ops.patch("/api/contractor-companies/999", json={"installation_fee": "1.00"}).status_code == 404
    assert ops.patch(f"/api/contractor-companies/{alpha}", json={"installation_fee": None}).json["effective_fee"] == "300.00"
    assert contractor.get("/api/contractor-companies").status_code == 403
    assert contractor.patch(f"/api/contractor-companies/{alpha}", json={"installation_fee": "1.00"}).status_code == 403
    with app.app_context():
        assert [a.action for a in history("contractor_company", alpha)][-2:] == ["update", "update"]
