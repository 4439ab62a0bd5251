"""Signals that a device is dark become ONE device_offline ticket per truck, with an event per signal.

Zero usage on a reconciled carrier statement, and the provincial platform's sightings (a sweep with a controlled
clock): devices unseen for more than OFFLINE_TICKET_DAYS (3) open or update a ticket, devices seen again get an
event and, when nobody started work, are resolved as back online.
"""
import datetime as dt

import pytest
from sqlalchemy import func, select

from insurer_dms.activity import history
from insurer_dms.extensions import db
from insurer_dms.installs.models import Installation
from insurer_dms.maintenance import signals, tickets
from insurer_dms.maintenance.models import Ticket, TicketEvent
from insurer_dms.sims import reconciliation
from insurer_dms.sims.models import ReconciliationResult, Statement
from jobs.maintenance_signals import offline_sweep, statement_zero_usage
from jobs.reconcile import reconcile_statement
from tests import install_factories as f
from tests import signal_factories as sg
from tests import statement_factories as sf
from tests.factories import csv_bytes, upload

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 10, 20, 12, 0, tzinfo=UTC)  # the sweep's clock
DAY = sg.DAY


def events(ticket, kind=None):
    db.session.refresh(ticket)
    return [(e.kind, e.source) for e in ticket.events if kind is None or e.kind == kind]


def ticket_count():
    return db.session.scalar(select(func.count()).select_from(Ticket))


# ---------------------------------------------------------------- zero usage


def test_zero_usage_on_an_installed_device_opens_a_device_offline_ticket(ctx):
    dark, busy = sg.installed_truck(), sg.installed_truck()
    loose = sf.sim(sf.plan(fee="30.00"))  # 0 KB too, but in no device: no truck, no ticket
    statement_id = sf.statement([sf.line(dark.sim.iccid, "30.00", data_kb=0),
                                 sf.line(busy.sim.iccid, "30.00", data_kb=2048),
                                 sf.line(loose.iccid, "30.00", data_kb=0)]).id
    reconcile_statement(statement_id)  # inline: the zero-usage job runs right after it

    (ticket,) = db.session.scalars(select(Ticket)).all()
    assert (ticket.truck_id, ticket.device_id, ticket.category, ticket.source, ticket.state) == (
        dark.truck_id, dark.device_id, "device_offline", "zero_usage", "open")
    (created,) = ticket.events
    assert created.kind == "created" and created.data["statement_id"] == statement_id
    assert created.data["iccid"] == dark.sim.iccid and created.data["period"] == sf.PERIOD
    assert f"SIM {dark.sim.iccid}" in ticket.description


def test_zero_usage_in_two_months_is_one_ticket_with_two_events(ctx):
    dark = sg.installed_truck()
    september = sg.reconciled(zero=[dark], period="2026-09")
    october = sg.reconciled(zero=[dark], period="2026-10")
    (ticket,) = sg.tickets_of(dark.truck_id)
    assert events(ticket) == [("created", "zero_usage"), ("signal", "zero_usage")]
    assert [e.data["statement_id"] for e in ticket.events] == [september, october]
    assert ticket.signal_count == 2


def test_rerunning_the_job_or_the_reconciliation_adds_nothing(ctx):
    dark, darker = sg.installed_truck(), sg.installed_truck()
    statement_id = sg.reconciled(zero=[dark, darker])
    again = statement_zero_usage(statement_id)
    assert (again["trucks"], again["already"], again["opened"], again["updated"]) == (2, 2, 0, 0)
    reconciliation.rerun(statement_id)  # re-queued and run inline: reconciliation, then the zero-usage job
    assert db.session.get(Statement, statement_id).status == "done"
    assert ticket_count() == 2
    for order in (dark, darker):
        (ticket,) = sg.tickets_of(order.truck_id)
        assert events(ticket) == [("created", "zero_usage")]


def test_a_resolved_ticket_is_not_reopened_by_a_rerun_of_the_same_statement(ctx):
    dark = sg.installed_truck()
    statement_id = sg.reconciled(zero=[dark])
    (ticket,) = sg.tickets_of(dark.truck_id)
    tickets.enter_state(ticket, "resolved", resolution="no_fault_found")
    db.session.commit()
    assert signals.zero_usage_signals(statement_id)["already"] == 1
    assert [t.state for t in sg.tickets_of(dark.truck_id)] == ["resolved"]


def test_a_new_version_of_the_same_month_adds_no_event_and_a_superseded_one_signals_nothing(ctx):
    dark, other = sg.installed_truck(), sg.installed_truck()
    first = sg.reconciled(zero=[dark])
    second = sg.reconciled(zero=[dark, other])  # the carrier's corrected bill for the same month
    assert db.session.get(Statement, first).status == "superseded"
    (ticket,) = sg.tickets_of(dark.truck_id)
    assert events(ticket) == [("created", "zero_usage")]  # the same month's zero usage, already signalled
    assert ticket.events[0].data["statement_id"] == first
    assert [t.events[0].data["statement_id"] for t in sg.tickets_of(other.truck_id)] == [second]

    third_truck = sg.installed_truck()
    stale = sg.usage_statement(zero=[third_truck], period="2026-11")
    sg.usage_statement(zero=[], used=[third_truck], period="2026-11")  # supersedes it before its run
    result = signals.zero_usage_signals(stale.id)
    assert (result["status"], result["opened"]) == ("superseded", 0)
    assert sg.tickets_of(third_truck.truck_id) == []


def test_a_truck_whose_device_was_removed_since_gets_no_ticket(ctx):
    dark = sg.installed_truck()
    statement_id = sg.usage_statement(zero=[dark]).id
    installation = db.session.scalar(select(Installation).where(Installation.truck_id == dark.truck_id))
    installation.removed_at = dt.datetime(2026, 10, 5, tzinfo=UTC)  # after the statement's month
    db.session.commit()
    reconcile_statement(statement_id)
    flagged = db.session.scalar(select(ReconciliationResult.zero_usage_installed)
                                .where(ReconciliationResult.statement_id == statement_id))
    assert flagged is True and ticket_count() == 0  # still on the truck in September, gone now


def test_the_zero_usage_job_runs_on_a_real_worker_after_the_reconciliation(app, rq_worker):
    with app.app_context():
        dark, busy = sg.installed_truck(), sg.installed_truck()
        statement_id = sg.usage_statement(zero=[dark], used=[busy]).id
        dark_truck = dark.truck_id
    rq_worker.enqueue("jobs.reconcile.reconcile_statement", statement_id)
    rq_worker.run()  # the reconciliation enqueues the zero-usage job; the burst worker runs it too
    with app.app_context():
        (ticket,) = db.session.scalars(select(Ticket)).all()
        assert (ticket.truck_id, ticket.source) == (dark_truck, "zero_usage")
        assert ticket.events[0].actor == "job:jobs.maintenance_signals.statement_zero_usage"
    job = rq_worker.enqueue("jobs.maintenance_signals.statement_zero_usage", statement_id)  # delivered twice
    rq_worker.run()
    assert job.return_value()["already"] == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TicketEvent)) == 1


def test_tickets_opened_together_are_like_a_ticket_opened_alone(ctx):
    together, alone = sg.installed_truck(), sg.installed_truck()
    statement_id = sg.reconciled(zero=[together])
    (bulk,) = sg.tickets_of(together.truck_id)
    single, opened = tickets.signal(alone.truck_id, "device_offline", "zero_usage", note="alone", device_id=alone.device_id,
                                    data={"statement_id": statement_id}, at=bulk.opened_at)
    db.session.commit()
    assert opened and bulk.number == f"TK-{bulk.opened_at:%Y%m%d}-{bulk.id:06d}"
    same = ("category", "source", "priority", "state", "sla_state", "sla_due_at", "signal_count", "last_signal_at",
            "opened_at", "created_by_id", "company_id", "work_started_at")
    assert {k: getattr(bulk, k) for k in same} == {k: getattr(single, k) for k in same}
    for ticket in (bulk, single):
        assert [(s.state, s.entered_at, s.left_at) for s in ticket.spans] == [("open", bulk.opened_at, None)]
        assert [(e.kind, e.to_state, e.source) for e in ticket.events] == [("created", "open", "zero_usage")]
        (created,) = history("ticket", ticket.id)
        assert created.action == "create" and created.after["number"] == ticket.number


def test_a_ticket_opened_meanwhile_by_another_signal_takes_the_batch_one_by_one(ctx, monkeypatch):
    raced, calm = sg.installed_truck(), sg.installed_truck()
    statement_id = sg.usage_statement(zero=[raced, calm]).id
    reconciliation.reconcile(statement_id)  # without its job: the signals are run by hand below
    staff, _ = tickets.signal(raced.truck_id, "device_offline", "staff", note="driver called", device_id=raced.device_id)
    db.session.commit()
    monkeypatch.setattr(signals, "_active_tickets", lambda ids: {})  # the batch does not see it: as in a race
    result = signals.zero_usage_signals(statement_id)
    assert (result["opened"], result["updated"]) == (1, 1)
    assert sg.tickets_of(raced.truck_id) == [staff]
    assert events(staff) == [("created", "staff"), ("signal", "zero_usage")]
    assert [t.source for t in sg.tickets_of(calm.truck_id)] == ["zero_usage"]


# ---------------------------------------------------------------- the platform's sightings


def test_a_device_unseen_for_more_than_three_days_gets_one_ticket_however_often_the_sweep_runs(ctx):
    dark = sg.installed_truck(last_seen_at=NOW - 3 * DAY - dt.timedelta(minutes=1))
    fresh = sg.installed_truck(last_seen_at=NOW - DAY)
    never = sg.installed_truck(last_seen_at=None)  # data access never done: the installs' never-seen list
    result = signals.offline_sweep(NOW)
    assert (result["unseen"], result["opened"], result["updated"]) == (1, 1, 0)
    (ticket,) = sg.tickets_of(dark.truck_id)
    assert (ticket.source, ticket.device_id, ticket.opened_at) == ("platform_offline", dark.device_id, NOW)
    assert ticket.events[0].data["unseen_since"] == (NOW - 3 * DAY - dt.timedelta(minutes=1)).isoformat()
    assert sg.tickets_of(fresh.truck_id) == [] and sg.tickets_of(never.truck_id) == []

    for hours in (1, 2, 30):  # the hourly sweep keeps finding it dark: nothing new
        result = signals.offline_sweep(NOW + dt.timedelta(hours=hours))
        assert (result["unseen"], result["opened"], result["updated"]) == (1, 0, 0)
    assert events(ticket) == [("created", "platform_offline")]
    later = NOW + 2 * DAY + dt.timedelta(minutes=1)
    assert signals.offline_sweep(later)["opened"] == 1
    assert sg.tickets_of(fresh.truck_id)[0].opened_at == later  # 3 days after it was last seen


def test_a_device_confirmed_connected_by_hand_counts_from_its_connection(ctx):
    confirmed = f.installed_directly(state="connected", installed_at=NOW - 10 * DAY)  # never in the platform's export
    signals.offline_sweep(NOW)
    (ticket,) = sg.tickets_of(confirmed.truck_id)
    assert ticket.events[0].data["unseen_since"] == (NOW - 10 * DAY + dt.timedelta(hours=1)).isoformat()


def test_zero_usage_and_platform_offline_on_one_truck_are_one_ticket(ctx):
    dark = sg.installed_truck(last_seen_at=NOW - 20 * DAY)
    sg.reconciled(zero=[dark])
    signals.offline_sweep(NOW)
    signals.offline_sweep(NOW + DAY)
    (ticket,) = sg.tickets_of(dark.truck_id)
    assert events(ticket) == [("created", "zero_usage"), ("signal", "platform_offline")]
    assert ticket.signal_count == 2


def test_seen_again_an_untouched_ticket_is_resolved_as_back_online(ctx):
    dark = sg.installed_truck(last_seen_at=NOW - 5 * DAY)
    signals.offline_sweep(NOW)
    (ticket,) = sg.tickets_of(dark.truck_id)
    tickets.enter_state(ticket, "assigned", company_id=f.company().id)  # assigned, nobody on the road yet
    db.session.commit()
    sg.seen(dark, NOW + dt.timedelta(hours=5))
    result = signals.offline_sweep(NOW + dt.timedelta(hours=6))
    assert (result["back_online"], result["resolved"], result["opened"]) == (1, 1, 0)
    db.session.refresh(ticket)
    assert (ticket.state, ticket.resolution, ticket.resolved_at) == ("resolved", "back_online", NOW + dt.timedelta(hours=6))
    assert events(ticket)[-2:] == [("note", "platform_offline"), ("state", None)]
    assert ticket.events[-2].data["seen_at"] == (NOW + dt.timedelta(hours=5)).isoformat()
    assert signals.offline_sweep(NOW + dt.timedelta(hours=7))["back_online"] == 0


def test_seen_again_while_a_technician_works_on_it_adds_an_event_only(ctx):
    dark = sg.installed_truck(last_seen_at=NOW - 5 * DAY)
    signals.offline_sweep(NOW)
    (ticket,) = sg.tickets_of(dark.truck_id)
    tickets.enter_state(ticket, "assigned", company_id=f.company().id)
    tickets.enter_state(ticket, "in_progress")
    db.session.commit()
    sg.seen(dark, NOW + DAY)
    assert signals.offline_sweep(NOW + DAY)["resolved"] == 0
    signals.offline_sweep(NOW + 2 * DAY)
    db.session.refresh(ticket)
    assert ticket.state == "in_progress"
    assert events(ticket, "note") == [("note", "platform_offline")]  # once, not at every sweep


def test_a_zero_usage_ticket_is_resolved_when_the_device_is_seen_after_it(ctx):
    dark = sg.installed_truck(last_seen_at=NOW - DAY)
    sg.reconciled(zero=[dark])  # opened now (in real time, after NOW): the sighting before it proves nothing
    (ticket,) = sg.tickets_of(dark.truck_id)
    assert signals.offline_sweep(ticket.opened_at + dt.timedelta(minutes=5))["back_online"] == 0
    sg.seen(dark, ticket.opened_at + dt.timedelta(hours=1))
    signals.offline_sweep(ticket.opened_at + dt.timedelta(hours=2))
    db.session.refresh(ticket)
    assert (ticket.state, ticket.resolution) == ("resolved", "back_online")


def test_offline_again_after_being_seen_folds_into_the_ticket_still_worked_on(ctx):
    dark = sg.installed_truck(last_seen_at=NOW - 5 * DAY)
    signals.offline_sweep(NOW)
    (ticket,) = sg.tickets_of(dark.truck_id)
    tickets.enter_state(ticket, "assigned", company_id=f.company().id)
    tickets.enter_state(ticket, "in_progress")
    db.session.commit()
    sg.seen(dark, NOW + DAY)
    signals.offline_sweep(NOW + DAY)
    signals.offline_sweep(NOW + 5 * DAY)  # dark again for 4 days
    assert sg.tickets_of(dark.truck_id) == [ticket]
    assert [k for k, _s in events(ticket) if k != "state"] == ["created", "note", "signal"]
    assert ticket.events[-1].data["unseen_since"] == (NOW + DAY).isoformat()


def test_a_repair_restarts_the_clock_and_a_cancelled_ticket_stays_cancelled(ctx):
    repaired, cancelled = sg.installed_truck(last_seen_at=NOW - 5 * DAY), sg.installed_truck(last_seen_at=NOW - 5 * DAY)
    signals.offline_sweep(NOW)
    fixed, dropped = sg.tickets_of(repaired.truck_id)[0], sg.tickets_of(cancelled.truck_id)[0]
    tickets.enter_state(fixed, "assigned", at=NOW, company_id=f.company().id)
    tickets.enter_state(fixed, "in_progress", at=NOW)
    tickets.enter_state(fixed, "resolved", at=NOW + DAY, resolution="repaired_on_site")
    tickets.enter_state(dropped, "cancelled", at=NOW, note="Truck laid up for the winter")
    db.session.commit()
    assert signals.offline_sweep(NOW + 2 * DAY)["opened"] == 0  # the platform has not reported since the repair
    assert signals.offline_sweep(NOW + 4 * DAY + dt.timedelta(minutes=1))["opened"] == 1  # 3 days after it
    assert [t.state for t in sg.tickets_of(repaired.truck_id)] == ["resolved", "open"]
    assert [t.state for t in sg.tickets_of(cancelled.truck_id)] == ["cancelled"]


def test_the_sweep_job_takes_its_clock_and_runs_on_a_real_worker(app, rq_worker):
    with app.app_context():
        dark = sg.installed_truck(last_seen_at=NOW - 4 * DAY).truck_id
    job = rq_worker.enqueue("jobs.maintenance_signals.offline_sweep", NOW.isoformat())
    rq_worker.run()
    assert job.return_value()["opened"] == 1 and job.return_value()["now"] == NOW.isoformat()
    with app.app_context():
        (ticket,) = sg.tickets_of(dark)
        assert ticket.opened_at == NOW and ticket.events[0].actor == "job:jobs.maintenance_signals.offline_sweep"


def test_an_online_status_import_resolves_the_ticket_of_a_device_seen_again(app, ops):
    now = dt.datetime.now(UTC).replace(microsecond=0)
    with app.app_context():
        dark = sg.installed_truck(last_seen_at=now - 10 * DAY)
        truck_id, number = dark.truck_id, dark.sim.msisdn
        signals.offline_sweep(now)
    seen_at = now.astimezone(f.LOCAL_TZ) - dt.timedelta(minutes=30)
    data = csv_bytes(["终端手机号", "最后在线时间"], [[number, f"{seen_at:%Y-%m-%d %H:%M:%S}"]])
    assert upload(ops, "/api/online-status/imports", data, "export.csv").json["status"] == "done"
    with app.app_context():
        (ticket,) = sg.tickets_of(truck_id)
        assert (ticket.state, ticket.resolution) == ("resolved", "back_online")


@pytest.mark.parametrize("now_iso", ["2026-10-20T12:00:00", "2026-10-20T20:00:00+08:00"])
def test_the_sweep_clock_without_an_offset_is_utc(ctx, now_iso):
    assert offline_sweep(now_iso)["now"] == NOW.isoformat()
