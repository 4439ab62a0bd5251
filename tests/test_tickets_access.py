"""Who sees and does what with tickets: contractors only their company's (404 for the others), reviewers nothing,
opening tickets by hand (one active ticket per truck and category), and the list's filters."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from insurer_dms.extensions import db
from insurer_dms.maintenance.models import Ticket, TicketEvent
from tests import install_factories as f
from tests import ticket_factories as tf

RESOLVE = {"resolution": "repaired_on_site", "note": "x"}
# Every ticket endpoint with a body that would be valid for it.
ENDPOINTS = [
    ("get", "", None), ("post", "/assign", {"company_id": 1}), ("post", "/unassign", {"reason": "x"}),
    ("post", "/start", None), ("post", "/resolve", RESOLVE), ("post", "/close", {}), ("post", "/reopen", {"reason": "x"}),
    ("post", "/cancel", {"reason": "x"}), ("post", "/notes", {"note": "x"}), ("post", "/costs", {"category": "travel", "amount": "9.00"}),
    ("post", "/photos/presign", {"content_type": "image/jpeg", "size": 100}), ("post", "/photos", {"key": "tickets/1/photo-x.jpg"}),
]
OPS_ONLY = {"/assign", "/unassign", "/close", "/reopen", "/cancel"}


def call(client, ticket_id, method, suffix, payload):
    url = f"/api/tickets/{ticket_id}{suffix}"
    if method == "get":
        return client.get(url)
    return client.post(url, json=payload) if payload is not None else client.post(url)


def ids(resp):
    return [item["id"] for item in resp.json["items"]]


# ---- isolation -----------------------------------------------------------------------------------------


def test_contractors_list_only_their_companys_tickets(ctx, ops, contractor, other_contractor):
    alpha = tf.installed_truck_with_ticket("assigned", tf.ALPHA)
    beta = tf.installed_truck_with_ticket("in_progress", tf.BETA)
    pool = tf.installed_truck_with_ticket("open")
    assert ids(contractor.get("/api/tickets")) == [alpha.id]
    assert ids(other_contractor.get("/api/tickets")) == [beta.id]
    assert sorted(ids(ops.get("/api/tickets"))) == sorted([alpha.id, beta.id, pool.id])
    assert ids(contractor.get(f"/api/tickets?company_id={f.company(tf.BETA).id}")) == []  # the filter cannot widen it


@pytest.mark.parametrize("method,suffix,payload", ENDPOINTS)
def test_another_companys_ticket_is_not_found_for_every_action(ctx, other_contractor, method, suffix, payload):
    ticket = tf.installed_truck_with_ticket("in_progress", tf.ALPHA)
    events = db.session.scalar(select(func.count()).select_from(TicketEvent))
    resp = call(other_contractor, ticket.id, method, suffix, payload)
    assert resp.status_code == (403 if suffix in OPS_ONLY else 404), resp.json
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).state == "in_progress"
    assert db.session.scalar(select(func.count()).select_from(TicketEvent)) == events


def test_an_unassigned_ticket_is_not_found_for_contractors(ctx, contractor):
    ticket = tf.installed_truck_with_ticket("open")
    assert contractor.get(f"/api/tickets/{ticket.id}").status_code == 404


@pytest.mark.parametrize("method,suffix,payload", ENDPOINTS)
def test_reviewers_are_refused_every_ticket_endpoint(ctx, reviewer, anon, method, suffix, payload):
    ticket = tf.installed_truck_with_ticket("in_progress")
    assert call(reviewer, ticket.id, method, suffix, payload).status_code == 403
    assert call(anon, ticket.id, method, suffix, payload).status_code == 401


def test_reviewers_cannot_list_or_open_tickets(ctx, reviewer):
    truck = tf.installed_truck().truck
    assert reviewer.get("/api/tickets").status_code == 403
    assert reviewer.post("/api/tickets", json={"truck_id": truck.id, "category": "other"}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_contractor_works_its_own_ticket(ctx, contractor):
    ticket = tf.installed_truck_with_ticket("assigned", tf.ALPHA)
    assert contractor.post(f"/api/tickets/{ticket.id}/start").json["state"] == "in_progress"
    assert contractor.post(f"/api/tickets/{ticket.id}/notes", json={"note": "Driver says the screen is black"}).status_code == 201
    assert contractor.post(f"/api/tickets/{ticket.id}/resolve", json=RESOLVE).json["state"] == "resolved"
    for suffix in ("/close", "/reopen", "/cancel"):  # operations check and decide
        assert contractor.post(f"/api/tickets/{ticket.id}{suffix}", json={"reason": "x"}).status_code == 403


# ---- opening tickets -----------------------------------------------------------------------------------


def test_staff_open_a_ticket_with_its_sla_from_the_priority(ctx, ops):
    order = tf.installed_truck()
    resp = ops.post("/api/tickets", json={"plate": order.truck.plate, "category": "camera_fault", "priority": "urgent",
                                          "source": "operator_call", "description": "Driver: camera shows nothing"})
    assert resp.status_code == 201, resp.json
    ticket = resp.json
    assert (ticket["state"], ticket["source"], ticket["priority"], ticket["device"]["id"]) == ("open", "operator_call", "urgent", order.device_id)
    opened, due = dt.datetime.fromisoformat(ticket["opened_at"]), dt.datetime.fromisoformat(ticket["sla_due_at"])
    assert due - opened == dt.timedelta(hours=24)
    assert ticket["number"].startswith("TK-") and ticket["number"].endswith(f"{ticket['id']:06d}")
    assert [e["kind"] for e in ticket["events"]] == ["created"]


def test_staff_may_assign_at_once(ctx, ops):
    order = tf.installed_truck()
    beta = f.company(tf.BETA)
    ticket = ops.post("/api/tickets", json={"truck_id": order.truck_id, "category": "power_wiring", "company_id": beta.id}).json
    assert ticket["state"] == "assigned" and ticket["company"]["id"] == beta.id and ticket["source"] == "staff"


def test_a_second_report_for_the_same_truck_and_category_is_added_to_the_active_ticket(ctx, ops):
    order = tf.installed_truck()
    first = ops.post("/api/tickets", json={"truck_id": order.truck_id, "category": "device_offline"})
    second = ops.post("/api/tickets", json={"truck_id": order.truck_id, "category": "device_offline", "source": "operator_call",
                                            "description": "Operator calls again"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json["id"] == first.json["id"] and second.json["signal_count"] == 2
    assert [(e["kind"], e["source"]) for e in second.json["events"]] == [("created", "staff"), ("signal", "operator_call")]
    other = ops.post("/api/tickets", json={"truck_id": order.truck_id, "category": "camera_fault"})
    assert other.status_code == 201 and other.json["id"] != first.json["id"]  # another category: its own ticket


def test_opening_a_ticket_needs_a_known_truck_and_category(ctx, ops):
    assert "plate" in ops.post("/api/tickets", json={"plate": "粤U00000", "category": "other"}).json["errors"]
    assert "truck_id" in ops.post("/api/tickets", json={"category": "other"}).json["errors"]
    assert ops.post("/api/tickets", json={"truck_id": 1, "category": "broken"}).status_code == 422
    assert "company_id" in ops.post("/api/tickets", json={"truck_id": tf.installed_truck().truck_id, "category": "other",
                                                          "company_id": 999}).json["errors"]
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_a_contractor_opens_a_ticket_on_a_truck_it_installed_and_gets_it(ctx, contractor):
    order = tf.installed_truck(tf.ALPHA)
    resp = contractor.post("/api/tickets", json={"truck_id": order.truck_id, "category": "physical_damage", "source": "staff",
                                                 "description": "Bracket cracked"})
    assert resp.status_code == 201, resp.json
    assert (resp.json["source"], resp.json["state"], resp.json["company"]["name"]) == ("contractor", "assigned", tf.ALPHA)


def test_a_contractor_cannot_open_a_ticket_on_another_companys_truck(ctx, contractor):
    theirs = tf.installed_truck(tf.BETA)
    refused = contractor.post("/api/tickets", json={"truck_id": theirs.truck_id, "category": "other"})
    unknown = contractor.post("/api/tickets", json={"truck_id": 987654, "category": "other"})
    assert refused.status_code == unknown.status_code == 422
    assert refused.json["errors"] == unknown.json["errors"]  # the answer does not tell whether the truck exists
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_a_contractors_report_on_an_active_ticket_of_operations_is_refused(ctx, contractor):
    ticket = tf.installed_truck_with_ticket("open", tf.ALPHA)  # installed by Alpha, not yet assigned
    resp = contractor.post("/api/tickets", json={"truck_id": ticket.truck_id, "category": ticket.category})
    assert resp.status_code == 409
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).signal_count == 1


# ---- the list's filters --------------------------------------------------------------------------------


def test_the_list_filters(ctx, ops):
    offline = tf.installed_truck_with_ticket("open", category="device_offline", priority="high")
    camera = tf.installed_truck_with_ticket("in_progress", tf.BETA, category="camera_fault", source="road_check")
    done = tf.installed_truck_with_ticket("closed", category="sim_fault")
    camera_row = db.session.get(Ticket, camera.id)
    camera_row.sla_state = "breached"
    db.session.commit()
    beta = f.company(tf.BETA)

    def listed(query):
        return sorted(ids(ops.get(f"/api/tickets?{query}")))

    assert listed("state=active") == sorted([offline.id, camera.id])
    assert listed("state=closed") == [done.id]
    assert listed("category=camera_fault") == [camera.id]
    assert listed("priority=high") == [offline.id]
    assert listed("sla_state=breached") == [camera.id]
    assert listed("source=road_check") == [camera.id]
    assert listed(f"company_id={beta.id}") == [camera.id]
    assert listed(f"plate={camera.truck.plate[-4:].lower()}") == [camera.id]
    assert listed(f"q={done.number}") == [done.id]
    assert ops.get("/api/tickets?state=nonsense").status_code == 422
    page = ops.get("/api/tickets?page_size=2").json
    assert (page["total"], page["pages"], len(page["items"])) == (3, 2, 2)
