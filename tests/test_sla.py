"""The SLA job: tickets at 80% of their SLA become at risk, past their due time breached, on a real worker.

SLA hours (config defaults): urgent 24, high 48, normal 72, low 168; at risk from 80% of that:
urgent 19.2 h, high 38.4 h, normal 57.6 h, low 134.4 h after opening.
"""
import datetime as dt
import importlib
import sys

import pytest
from sqlalchemy import select

from insurer_dms.activity import Activity
from insurer_dms.extensions import db
from insurer_dms.maintenance import sla
from insurer_dms.maintenance.models import Ticket, TicketEvent
from tests import sla_factories as sf

JOB = "jobs.sla.mark_sla"
ACTOR = "job:jobs.sla.mark_sla"
H = dt.timedelta(hours=1)
S = dt.timedelta(seconds=1)
NOW = sf.hours(200)  # the moment the worker judges the tickets at


def marks(*tickets):
    db.session.expire_all()
    return [db.session.get(Ticket, t).sla_state for t in tickets]


def sla_events(ticket_id):
    return db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "sla")
                              .order_by(TicketEvent.id)).all()


def sla_activity(ticket_id):
    return db.session.scalars(select(Activity).where(Activity.entity_type == "ticket", Activity.entity_id == str(ticket_id),
                                                     Activity.action.like("sla:%")).order_by(Activity.id)).all()


def run(rq_worker, now):
    job = rq_worker.enqueue(JOB, now.isoformat())
    rq_worker.run()
    job.refresh()
    assert job.get_status() == "finished"
    return job.return_value()


def test_a_real_worker_marks_tickets_at_the_moments_computed_by_hand(app, rq_worker):
    with app.app_context():
        ids = {
            "normal_57.5h": sf.ticket(NOW - 57.5 * H).id,
            "normal_57.6h": sf.ticket(NOW - 57.6 * H).id,
            "normal_at_due": sf.ticket(NOW - 72 * H).id,
            "normal_due_plus_1s": sf.ticket(NOW - 72 * H - S).id,
            "urgent_19.1h": sf.ticket(NOW - 19.1 * H, priority="urgent").id,
            "urgent_19.2h_in_progress": sf.move(sf.ticket(NOW - 19.2 * H, priority="urgent", company="Alpha Installations"),
                                                "in_progress", at=NOW - 19 * H).id,
            "urgent_24h_plus_1s_assigned": sf.ticket(NOW - 24 * H - S, priority="urgent", company="Alpha Installations").id,
            "resolved_late": sf.resolved(NOW - 100 * H, NOW - 1 * H, company="Alpha Installations").id,
            "cancelled": sf.move(sf.ticket(NOW - 100 * H), "cancelled", at=NOW - 90 * H).id,
        }
    names = list(ids)

    assert run(rq_worker, NOW) == {"at_risk": 3, "breached": 2}

    with app.app_context():
        assert dict(zip(names, marks(*ids.values()))) == {
            "normal_57.5h": "on_track",
            "normal_57.6h": "at_risk",
            "normal_at_due": "at_risk",  # at the due time itself it is still in time
            "normal_due_plus_1s": "breached",
            "urgent_19.1h": "on_track",
            "urgent_19.2h_in_progress": "at_risk",
            "urgent_24h_plus_1s_assigned": "breached",
            "resolved_late": "on_track",  # resolved tickets are never marked (reports judge them by resolved_at)
            "cancelled": "on_track",
        }
        at_risk = db.session.get(Ticket, ids["normal_57.6h"])
        assert (at_risk.at_risk_at, at_risk.breached_at) == (NOW, None)
        straight = db.session.get(Ticket, ids["normal_due_plus_1s"])
        assert (straight.at_risk_at, straight.breached_at) == (None, NOW)  # the job never saw it at risk

        (event,) = sla_events(ids["normal_57.6h"])
        assert (event.at, event.actor, event.data) == (NOW, ACTOR, {
            "sla_state": "at_risk", "previous": "on_track", "sla_due_at": (NOW + 14.4 * H).isoformat()})
        (entry,) = sla_activity(ids["normal_due_plus_1s"])
        assert (entry.actor, entry.action, entry.before, entry.after) == (
            ACTOR, "sla:on_track->breached", {"sla_state": "on_track"},
            {"sla_state": "breached", "breached_at": NOW.isoformat()})
        assert sla_events(ids["resolved_late"]) == [] and sla_events(ids["normal_57.5h"]) == []

    # Delivered twice (RQ is at-least-once): nothing more happens.
    assert run(rq_worker, NOW) == {"at_risk": 0, "breached": 0}
    with app.app_context():
        assert len(db.session.scalars(select(TicketEvent).where(TicketEvent.kind == "sla")).all()) == 5
        assert len(db.session.scalars(select(Activity).where(Activity.action.like("sla:%"))).all()) == 5

    # An hour later: two more at risk, the one at its due time breached (its at-risk mark kept).
    assert run(rq_worker, NOW + H) == {"at_risk": 2, "breached": 1}
    with app.app_context():
        assert marks(ids["normal_57.5h"], ids["urgent_19.1h"], ids["normal_at_due"]) == ["at_risk", "at_risk", "breached"]
        due = db.session.get(Ticket, ids["normal_at_due"])
        assert (due.at_risk_at, due.breached_at) == (NOW, NOW + H)
        assert [(e.data["previous"], e.data["sla_state"]) for e in sla_events(ids["normal_at_due"])] == [
            ("on_track", "at_risk"), ("at_risk", "breached")]


@pytest.mark.parametrize("priority, on_track, at_risk, due", [
    ("urgent", 19.1, 19.2, 24), ("high", 38.3, 38.4, 48), ("normal", 57.5, 57.6, 72), ("low", 134.3, 134.4, 168)])
def test_each_priority_turns_at_risk_at_80_percent_and_breached_after_its_due_time(ctx, priority, on_track, at_risk, due):
    ticket = sf.ticket(sf.T0, priority=priority).id
    assert sla.mark_sla(sf.hours(on_track)) == {"at_risk": 0, "breached": 0}
    assert marks(ticket) == ["on_track"]
    assert sla.mark_sla(sf.hours(at_risk)) == {"at_risk": 1, "breached": 0}
    assert sla.mark_sla(sf.hours(due)) == {"at_risk": 0, "breached": 0}
    assert marks(ticket) == ["at_risk"]
    assert sla.mark_sla(sf.hours(due) + S) == {"at_risk": 0, "breached": 1}
    assert marks(ticket) == ["breached"]


def test_a_run_with_an_earlier_clock_takes_no_mark_back(ctx):
    ticket = sf.ticket(sf.T0).id
    sla.mark_sla(sf.hours(80))
    assert sla.mark_sla(sf.hours(10)) == {"at_risk": 0, "breached": 0}
    assert marks(ticket) == ["breached"]


def test_a_reopened_ticket_keeps_its_due_time_and_is_breached_once_past_it(ctx):
    ticket = sf.resolved(sf.T0, sf.hours(30), company="Alpha Installations")
    due = ticket.sla_due_at
    sf.move(ticket, "assigned", at=sf.hours(80))  # the repair did not hold
    assert sla.mark_sla(sf.hours(80)) == {"at_risk": 0, "breached": 1}
    reopened = db.session.get(Ticket, ticket.id)
    assert (reopened.opened_at, reopened.sla_due_at, reopened.sla_state, reopened.reopen_count) == (sf.T0, due, "breached", 1)


def test_the_job_inline_uses_the_clock_it_is_given_and_refuses_a_time_without_zone(ctx):
    from jobs.sla import mark_sla

    sf.ticket(sf.T0)
    assert mark_sla(sf.hours(60).isoformat()) == {"at_risk": 1, "breached": 0}
    assert mark_sla() == {"at_risk": 0, "breached": 1}  # now is long after March 2024
    with pytest.raises(ValueError):
        sla.mark_sla(dt.datetime(2024, 3, 5))


def test_cron_runs_the_sla_job_every_15_minutes(app):
    from rq import cron

    sys.modules.pop("cron", None)
    cron._job_data_registry.clear()
    importlib.import_module("cron")
    registered = {(f"{j['func'].__module__}.{j['func'].__name__}", j["cron"], j["queue_name"]) for j in cron._job_data_registry}
    assert (JOB, "*/15 * * * *", app.config["RQ_QUEUE"]) in registered
