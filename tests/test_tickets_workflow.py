"""A ticket's life through the API: every legal move, every illegal one refused with 409 and nothing changed, the
time kept in each state, and reopening that keeps the whole history."""
import datetime as dt
from itertools import product

import pytest
from sqlalchemy import func, select

from insurer_dms.activity import Activity
from insurer_dms.extensions import db
from insurer_dms.maintenance import service, tickets
from insurer_dms.maintenance.models import STATES, Ticket, TicketEvent, TicketStateSpan
from tests import install_factories as f
from tests import ticket_factories as tf

UTC = dt.timezone.utc

# What each action does, and the states it is legal from (anything else: 409).
LEGAL_FROM = {
    "assign": ("open", "assigned"),
    "unassign": ("assigned",),
    "start": ("assigned",),
    "resolve": ("in_progress",),
    "close": ("resolved",),
    "reopen": ("resolved", "closed"),
    "cancel": ("open", "assigned", "in_progress"),
}
TARGET = {"assign": "assigned", "unassign": "open", "start": "in_progress", "resolve": "resolved", "close": "closed",
          "reopen": "assigned", "cancel": "cancelled"}


def body(action, company_id):
    return {"assign": {"company_id": company_id}, "unassign": {"reason": "Company has no technician free"},
            "start": None, "resolve": {"resolution": "repaired_on_site", "note": "Fuse replaced in the power line"},
            "close": {"note": "Seen online again"}, "reopen": {"reason": "Dark again the next day"},
            "cancel": {"reason": "Duplicate of a phone report"}}[action]


def act(client, ticket_id, action, company_id):
    payload = body(action, company_id)
    url = f"/api/tickets/{ticket_id}/{action}"
    return client.post(url, json=payload) if payload is not None else client.post(url)


def state_of(ticket_id):
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id).state


@pytest.mark.parametrize("action,frm", sorted(product(LEGAL_FROM, STATES)))
def test_each_action_from_each_state(ctx, ops, action, frm):
    ticket = tf.installed_truck_with_ticket(frm)
    company = f.company(tf.BETA)
    events_before = db.session.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
    resp = act(ops, ticket.id, action, company.id)
    if frm in LEGAL_FROM[action]:
        assert resp.status_code == 200, resp.json
        assert resp.json["state"] == TARGET[action] == state_of(ticket.id)
    else:
        assert resp.status_code == 409, resp.json
        assert "state" in resp.json["errors"]
        assert state_of(ticket.id) == frm
        events_after = db.session.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
        assert events_after == events_before


@pytest.mark.parametrize("frm,to", sorted(product(STATES, STATES)))
def test_the_core_gate_allows_exactly_the_transition_table(ctx, frm, to):
    """``tickets.enter_state`` (used by the service, the signals and the SLA job) refuses every move not in the table."""
    ticket = tf.installed_truck_with_ticket()
    ticket.state = frm  # set up directly: the gate itself is under test
    db.session.commit()
    if to in tickets.TRANSITIONS[frm]:
        tickets.enter_state(ticket, to, company_id=ticket.company_id or f.company().id)
        assert ticket.state == to
    else:
        with pytest.raises(Exception) as refused:
            tickets.enter_state(ticket, to)
        assert getattr(refused.value, "status", None) == 409
    db.session.rollback()


def test_the_happy_path_records_every_step_in_the_trail_and_the_activity_log(ctx, ops, contractor):
    ticket = tf.installed_truck_with_ticket()
    alpha = f.company(tf.ALPHA)
    assert ops.post(f"/api/tickets/{ticket.id}/assign", json={"company_id": alpha.id}).status_code == 200
    assert contractor.post(f"/api/tickets/{ticket.id}/start").status_code == 200
    resp = contractor.post(f"/api/tickets/{ticket.id}/resolve", json={"resolution": "repaired_on_site", "note": "Loose connector"})
    assert resp.status_code == 200, resp.json
    assert resp.json["resolution"] == "repaired_on_site" and resp.json["resolution_note"] == "Loose connector"
    detail = ops.post(f"/api/tickets/{ticket.id}/close", json={"note": "Online again"}).json
    assert detail["state"] == "closed" and detail["closed_at"] and detail["work_started_at"]
    moves = [(e["from_state"], e["to_state"]) for e in detail["events"] if e["kind"] == "state"]
    assert moves == [("open", "assigned"), ("assigned", "in_progress"), ("in_progress", "resolved"), ("resolved", "closed")]
    actors = [e["actor"] for e in detail["events"] if e["kind"] == "state"]
    assert actors == ["ops@example.com", "tech@alpha.example.com", "tech@alpha.example.com", "ops@example.com"]
    logged = db.session.scalars(select(Activity.action).where(Activity.entity_type == "ticket",
                                                              Activity.entity_id == str(ticket.id)).order_by(Activity.id)).all()
    assert logged == ["create", "state:open->assigned", "state:assigned->in_progress", "state:in_progress->resolved",
                      "state:resolved->closed"]
    assert [s["state"] for s in detail["spans"]] == ["open", "assigned", "in_progress", "resolved", "closed"]
    assert all(s["left_at"] for s in detail["spans"][:-1]) and detail["spans"][-1]["left_at"] is None


def test_reassigning_moves_the_ticket_to_another_company_without_a_new_span(ctx, ops):
    ticket = tf.installed_truck_with_ticket("assigned")
    beta = f.company(tf.BETA)
    detail = ops.post(f"/api/tickets/{ticket.id}/assign", json={"company_id": beta.id}).json
    assert detail["company"]["name"] == tf.BETA and detail["state"] == "assigned"
    assert [s["state"] for s in detail["spans"]] == ["open", "assigned"]
    assert detail["events"][-1]["data"] == {"company_id": beta.id}


def test_taking_a_ticket_back_clears_its_company(ctx, ops):
    ticket = tf.installed_truck_with_ticket("assigned")
    detail = ops.post(f"/api/tickets/{ticket.id}/unassign", json={"reason": "No technician this week"}).json
    assert detail["state"] == "open" and detail["company"] is None
    assert detail["events"][-1]["note"] == "No technician this week"


def test_assigning_needs_a_real_company_and_reasons_are_required(ctx, ops):
    ticket = tf.installed_truck_with_ticket()
    resp = ops.post(f"/api/tickets/{ticket.id}/assign", json={"company_id": 999})
    assert resp.status_code == 422 and "company_id" in resp.json["errors"]
    for action in ("cancel", "unassign", "reopen"):
        resp = ops.post(f"/api/tickets/{ticket.id}/{action}", json={"reason": "   "})
        assert resp.status_code == 422 and "reason" in resp.json["errors"]
    assert state_of(ticket.id) == "open"


def test_resolving_needs_a_known_resolution_and_a_note(ctx, ops):
    ticket = tf.installed_truck_with_ticket("in_progress")
    assert ops.post(f"/api/tickets/{ticket.id}/resolve", json={"resolution": "back_online", "note": "x"}).status_code == 422
    resp = ops.post(f"/api/tickets/{ticket.id}/resolve", json={"resolution": "no_fault_found"})
    assert resp.status_code == 422 and "note" in resp.json["errors"]
    assert state_of(ticket.id) == "in_progress"


def test_resolving_before_work_started_is_refused(ctx, ops):
    ticket = tf.installed_truck_with_ticket("assigned")
    resp = ops.post(f"/api/tickets/{ticket.id}/resolve", json={"resolution": "no_fault_found", "note": "Checked"})
    assert resp.status_code == 409
    assert "start the work first" in resp.json["message"]


def test_an_unknown_ticket_is_404(ctx, ops):
    assert ops.get("/api/tickets/4242").status_code == 404
    assert ops.post("/api/tickets/4242/start").status_code == 404


# ---- time in state and reopening ----------------------------------------------------------------------


def test_time_in_each_state_from_the_spans(ctx):
    opened = dt.datetime(2024, 6, 3, 8, 0, tzinfo=UTC)
    ticket = tf.ticket_on(tf.installed_truck(), opened_at=opened)
    tickets.enter_state(ticket, "assigned", at=opened + dt.timedelta(hours=2), company_id=f.company().id)
    tickets.enter_state(ticket, "in_progress", at=opened + dt.timedelta(hours=5))
    tickets.enter_state(ticket, "resolved", at=opened + dt.timedelta(hours=5, minutes=45), resolution="repaired_on_site")
    db.session.commit()
    now = opened + dt.timedelta(hours=8)
    assert service.time_in_state(ticket, now) == {"open": 7200, "assigned": 10800, "in_progress": 2700, "resolved": 8100}
    spans = db.session.scalars(select(TicketStateSpan).where(TicketStateSpan.ticket_id == ticket.id).order_by(TicketStateSpan.id)).all()
    assert [s.seconds for s in spans] == [7200, 10800, 2700, None]


def test_reopening_keeps_the_spans_and_events_and_counts_the_reopen(ctx, ops, contractor):
    ticket = tf.installed_truck_with_ticket("closed")
    before = ops.get(f"/api/tickets/{ticket.id}").json
    resp = ops.post(f"/api/tickets/{ticket.id}/reopen", json={"reason": "Camera dark again"})
    assert resp.status_code == 200
    detail = resp.json
    assert detail["state"] == "assigned" and detail["company"]["name"] == tf.ALPHA
    assert detail["reopen_count"] == 1
    assert detail["resolution"] is None and detail["resolved_at"] is None and detail["closed_at"] is None
    assert detail["events"][: len(before["events"])] == before["events"]  # nothing of the history is lost
    assert detail["events"][-1]["note"] == "Camera dark again"
    assert [s["state"] for s in detail["spans"]] == ["open", "assigned", "in_progress", "resolved", "closed", "assigned"]
    assert detail["spans"][:4] == before["spans"][:4]
    # Worked and resolved again: the second stay in each state adds to the first.
    contractor.post(f"/api/tickets/{ticket.id}/start")
    detail = contractor.post(f"/api/tickets/{ticket.id}/resolve", json={"resolution": "no_fault_found",
                                                                         "note": "Driver had unplugged it"}).json
    assert detail["reopen_count"] == 1 and detail["resolution"] == "no_fault_found"
    assert [s["state"] for s in detail["spans"]].count("in_progress") == 2
    assert set(detail["time_in_state"]) == {"open", "assigned", "in_progress", "resolved", "closed"}


def test_a_resolved_ticket_without_a_company_reopens_as_open(ctx, ops):
    """The platform resolves an untouched open ticket as back online; reopening it puts it back in the pool."""
    ticket = tf.installed_truck_with_ticket()
    tickets.enter_state(ticket, "resolved", resolution="back_online")
    db.session.commit()
    detail = ops.post(f"/api/tickets/{ticket.id}/reopen", json={"reason": "Offline again"}).json
    assert detail["state"] == "open" and detail["reopen_count"] == 1


def test_reopening_is_refused_when_a_newer_active_ticket_of_the_category_exists(ctx, ops):
    ticket = tf.installed_truck_with_ticket("resolved")
    newer, opened = tickets.signal(ticket.truck_id, ticket.category, "platform_offline", note="Unseen for 4 days")
    db.session.commit()
    assert opened
    resp = ops.post(f"/api/tickets/{ticket.id}/reopen", json={"reason": "Dark again"})
    assert resp.status_code == 409
    assert state_of(ticket.id) == "resolved" and state_of(newer.id) == "open"
