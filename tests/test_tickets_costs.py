"""Cost lines of a ticket (labour, parts, travel): each writes its ledger entry in the same transaction, for the
month of its date in China time; contractors record them on their own tickets while working, operations any time."""
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from insurer_dms.errors import Invalid, NotFound
from insurer_dms.extensions import db
from insurer_dms.ledger.models import LedgerEntry
from insurer_dms.maintenance import service
from insurer_dms.maintenance.models import TicketCost, TicketEvent
from tests import ticket_factories as tf

UTC = dt.timezone.utc


def ticket_entries(ticket_id):
    return db.session.scalars(select(LedgerEntry).where(LedgerEntry.source_type == "ticket",
                                                        LedgerEntry.source_id == str(ticket_id)).order_by(LedgerEntry.id)).all()


def test_a_cost_line_writes_its_ledger_entry_for_the_month_in_china_time(ctx):
    ticket = tf.installed_truck_with_ticket("in_progress")
    # 2024-05-31 17:30 UTC is 2024-06-01 01:30 in Chaozhou: the cost belongs to June.
    cost = service.add_cost(ticket.id, "travel", "85.50", "Round trip to Raoping", at=dt.datetime(2024, 5, 31, 17, 30, tzinfo=UTC))
    [entry] = ticket_entries(ticket.id)
    assert (entry.category, entry.amount, entry.period) == ("travel", Decimal("85.50"), "2024-06")
    assert (entry.truck_id, entry.device_id, entry.company_id) == (ticket.truck_id, ticket.device_id, ticket.company_id)
    assert entry.note == f"{ticket.number}: Round trip to Raoping"
    assert (cost.category, cost.amount, cost.ledger_entry_id) == ("travel", Decimal("85.50"), entry.id)
    event = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id.desc())).first()
    assert event.kind == "cost" and event.data["amount"] == "85.50" and event.data["ledger_entry_id"] == entry.id


def test_the_ledger_helpers_call_records_labour_and_parts(ctx):
    ticket = tf.installed_truck_with_ticket("resolved")
    service.add_cost(ticket.id, "maintenance_labour", Decimal("200.00"), "Two hours on site")
    service.add_cost(ticket.id, "parts", Decimal("38.00"), "Power fuse and connector")
    assert [(e.category, e.amount) for e in ticket_entries(ticket.id)] == [("maintenance_labour", Decimal("200.00")),
                                                                           ("parts", Decimal("38.00"))]
    assert sum(c.amount for c in db.session.scalars(select(TicketCost))) == Decimal("238.00")


@pytest.mark.parametrize("category,amount,field", [
    ("fuel", "10.00", "category"), ("travel", "0", "amount"), ("travel", "-5.00", "amount"),
    ("travel", "10.005", "amount"), ("travel", "ten", "amount"),
])
def test_a_bad_cost_line_is_refused_and_nothing_is_booked(ctx, category, amount, field):
    ticket = tf.installed_truck_with_ticket("in_progress")
    with pytest.raises(Invalid) as refused:
        service.add_cost(ticket.id, category, amount, "x")
    assert field in refused.value.errors
    assert ticket_entries(ticket.id) == [] and db.session.scalars(select(TicketCost)).all() == []


def test_an_unknown_ticket_books_nothing(ctx):
    with pytest.raises(NotFound):
        service.add_cost(999, "travel", "10.00", "x")


def test_contractor_records_costs_on_its_ticket_in_progress_and_ops_sees_them(ctx, contractor, ops):
    ticket = tf.installed_truck_with_ticket("in_progress")
    resp = contractor.post(f"/api/tickets/{ticket.id}/costs", json={"category": "maintenance_labour", "amount": "120.00",
                                                                     "description": "Rewired the camera"})
    assert resp.status_code == 201, resp.json
    assert resp.json["amount"] == "120.00" and resp.json["ledger_entry_id"]
    detail = ops.get(f"/api/tickets/{ticket.id}").json
    assert [(c["category"], c["amount"]) for c in detail["costs"]] == [("maintenance_labour", "120.00")]
    assert detail["cost_total"] == "120.00"


def test_contractor_cannot_record_costs_before_work_or_after_closing(ctx, contractor, ops):
    for state in ("assigned", "closed"):
        ticket = tf.installed_truck_with_ticket(state)
        resp = contractor.post(f"/api/tickets/{ticket.id}/costs", json={"category": "travel", "amount": "30.00"})
        assert resp.status_code == 409, state
        # Operations may book a late invoice on a closed ticket.
        assert ops.post(f"/api/tickets/{ticket.id}/costs", json={"category": "travel", "amount": "30.00"}).status_code == 201
    assert len(db.session.scalars(select(TicketCost)).all()) == 2


def test_the_api_refuses_bad_amounts(ctx, ops):
    ticket = tf.installed_truck_with_ticket("in_progress")
    for amount in ("0.00", "-1", "1.001", "abc"):
        resp = ops.post(f"/api/tickets/{ticket.id}/costs", json={"category": "parts", "amount": amount})
        assert resp.status_code == 422 and "amount" in resp.json["errors"], amount
    assert ops.post(f"/api/tickets/{ticket.id}/costs", json={"category": "food", "amount": "1.00"}).status_code == 422
    assert ticket_entries(ticket.id) == []
