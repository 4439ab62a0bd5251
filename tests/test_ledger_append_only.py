"""The ledger is append-only: a correction is a reversing entry plus a new one, and past totals stay reproducible."""
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from insurer_dms.activity import history
from insurer_dms.errors import Conflict, Invalid
from insurer_dms.extensions import db
from insurer_dms.ledger import service as ledger
from insurer_dms.ledger.models import LedgerEntry, LedgerIsAppendOnly
from insurer_dms.types import utcnow

D = Decimal


def booked(category="installation_fee", amount="300.00", period="2026-09", source_id=1):
    entry = ledger.post(category, D(amount), period, "work_order", source_id)
    db.session.commit()
    return entry


def snapshot():
    return [tuple(r) for r in db.session.execute(
        select(LedgerEntry.id, LedgerEntry.category, LedgerEntry.amount, LedgerEntry.period, LedgerEntry.truck_id,
               LedgerEntry.source_type, LedgerEntry.source_id, LedgerEntry.reverses_id, LedgerEntry.created_at)
        .order_by(LedgerEntry.id))]


def test_the_orm_refuses_to_change_or_delete_an_entry(ctx):
    entry = booked()
    entry.amount = D("1.00")
    with pytest.raises(LedgerIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(LedgerEntry, entry.id))
    with pytest.raises(LedgerIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(LedgerIsAppendOnly):
        db.session.execute(update(LedgerEntry).values(amount=0))
    with pytest.raises(LedgerIsAppendOnly):
        db.session.execute(delete(LedgerEntry))
    db.session.rollback()
    assert db.session.get(LedgerEntry, entry.id).amount == D("300.00")


def test_postgresql_refuses_a_raw_update_or_delete(ctx):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    entry = booked()
    for sql in ("UPDATE ledger_entry SET amount = 0", "DELETE FROM ledger_entry"):
        with pytest.raises(DBAPIError, match="cannot be changed or deleted"):
            db.session.execute(text(sql))
        db.session.rollback()
    assert db.session.get(LedgerEntry, entry.id).amount == D("300.00")


def test_a_correction_reverses_the_entry_and_books_the_right_amount(ctx):
    entry = booked(amount="300.00")
    before = snapshot()
    new = ledger.correct_entry(entry.id, D("280.00"), "the contract says 280.00")
    assert snapshot()[: len(before)] == before  # the original row is exactly as it was
    reversal = db.session.scalar(select(LedgerEntry).where(LedgerEntry.reverses_id == entry.id))
    assert (reversal.amount, reversal.period, reversal.category) == (D("-300.00"), "2026-09", "installation_fee")
    assert (new.amount, new.period, new.source_type, new.source_id) == (D("280.00"), "2026-09", "work_order", "1")
    assert ledger.month_total("2026-09") == D("280.00")
    assert history("ledger_entry", entry.id)[-1].action == "correct"


def test_a_month_total_is_reproducible_as_of_any_past_moment(ctx):
    september = booked(amount="300.00", period="2026-09", source_id=1)
    booked(amount="120.00", period="2026-09", source_id=2)
    booked(amount="50.00", period="2026-10", source_id=3)
    closed_books = utcnow()  # the September report was sent here
    assert ledger.month_total("2026-09", as_of=closed_books) == D("420.00")

    ledger.correct_entry(september.id, D("250.00"), "supplier credit note")
    later = ledger.post("installation_fee", D("30.00"), "2026-09", "work_order", 4)  # booked late into September
    db.session.commit()
    second = db.session.scalar(select(LedgerEntry).where(LedgerEntry.amount == D("250.00")))
    ledger.correct_entry(second.id, D("260.00"), "credit note revised")

    assert ledger.month_total("2026-09") == D("410.00")  # 260 + 120 + 30
    assert ledger.month_total("2026-09", as_of=closed_books) == D("420.00")  # as it was reported
    assert ledger.month_total("2026-10", as_of=closed_books) == D("50.00")
    assert later.created_at > closed_books
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 8  # 4 bookings, 2 x (reversal + new)


def test_an_entry_is_corrected_once_and_a_reversal_is_never_corrected(ctx):
    entry = booked()
    ledger.correct_entry(entry.id, D("280.00"), "wrong fee")
    with pytest.raises(Conflict):
        ledger.correct_entry(entry.id, D("290.00"), "again")
    db.session.rollback()
    reversal = db.session.scalar(select(LedgerEntry).where(LedgerEntry.reverses_id == entry.id))
    with pytest.raises(Conflict):
        ledger.correct_entry(reversal.id, D("1.00"), "no")
    db.session.rollback()
    with pytest.raises(Invalid):
        ledger.correct_entry(booked(source_id=9).id, D("300.00"), "same amount")
    db.session.rollback()
    with pytest.raises(Invalid):
        ledger.correct_entry(booked(source_id=10).id, D("1.00"), "  ")


def test_ops_correct_an_entry_through_the_api(app, ops, contractor, reviewer):
    with app.app_context():
        entry_id = booked().id
    for client in (contractor, reviewer):
        assert client.post(f"/api/ledger/entries/{entry_id}/correction", json={"amount": "1.00", "note": "x"}).status_code == 403
    resp = ops.post(f"/api/ledger/entries/{entry_id}/correction", json={"amount": "280.00", "note": "contract fee"})
    assert resp.status_code == 201, resp.json
    assert (resp.json["amount"], resp.json["note"], resp.json["reverses_id"]) == ("280.00", "contract fee", None)
    again = ops.post(f"/api/ledger/entries/{entry_id}/correction", json={"amount": "270.00", "note": "again"})
    assert again.status_code == 409
    assert ops.post("/api/ledger/entries/999/correction", json={"amount": "1.00", "note": "x"}).status_code == 404
    listed = ops.get("/api/ledger/entries?source_type=work_order&source_id=1").json
    assert [(e["amount"], e["reverses_id"]) for e in listed["items"]] == [("280.00", None), ("-300.00", entry_id), ("300.00", None)]
    assert ledger_total_of(listed) == D("280.00")


def ledger_total_of(page):
    return sum(D(e["amount"]) for e in page["items"])


def test_the_as_of_day_of_a_report_is_a_moment_not_a_date(ctx):
    booked(period="2026-09")
    assert ledger.month_total("2026-09", as_of=utcnow() - dt.timedelta(days=1)) == D("0.00")
