"""`flask demo load`: a realistic Chaozhou data set, loaded through the real import rules, once."""
from sqlalchemy import func, select

from insurer_dms.audits.models import AuditRun, FindingQuery
from insurer_dms.audits.samples import CASES
from insurer_dms.auth.models import Role, User
from insurer_dms.catalogue.models import CatalogueEntry
from insurer_dms.extensions import db
from insurer_dms.fleet.models import Policy, Truck
from insurer_dms.installs.models import Installation, OnlineStatusImport, WorkOrder, WorkOrderPhoto
from insurer_dms.inventory.models import Device
from insurer_dms.ledger.models import LedgerEntry
from insurer_dms.maintenance.models import RoadCheckImport, Ticket
from insurer_dms.sims.models import ReconciliationResult, Statement


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_load_gives_every_role_a_login_and_a_chaozhou_fleet(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load", "--trucks", "80"])
    assert result.exit_code == 0, result.output
    assert "ops@demo.insurer.cn" in result.output and "reviewer@demo.nfra.cn" in result.output
    with app.app_context():
        roles = dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
        assert roles == {Role.OPS: 1, Role.CONTRACTOR: 3, Role.REVIEWER: 1}
        assert _count(Truck) == 80 + len(CASES)  # the fleet, and the audit's worked cases
        assert {c for (c,) in db.session.execute(select(Truck.county_code).distinct())} <= {"445102", "445103", "445122"}
        heavy = _count(Truck, Truck.is_heavy)
        assert 0 < heavy < 80  # heavy and non-heavy trucks
        assert _count(Policy) >= 80 * 2
        assert _count(CatalogueEntry) == 8
        assert _count(CatalogueEntry, CatalogueEntry.withdrawn_on.is_not(None)) == 1
        assert _count(Device) == 1010 + sum(1 for case in CASES if case.device)
        # the programme is under way: orders in every stage, installs with evidence and fees, devices online
        states = dict(db.session.execute(select(WorkOrder.state, func.count()).where(WorkOrder.kind == "install")
                                         .group_by(WorkOrder.state)).all())
        assert {"open", "assigned", "scheduled", "installed", "connected"} <= set(states)
        installed = states["installed"] + states["connected"]
        # (a device replaced under a ticket: one installation ended, one begun; the audit's cases are "completed")
        programme = select(WorkOrder.id).where(WorkOrder.state != "completed")
        assert _count(Installation, Installation.removed_at.is_(None), Installation.work_order_id.in_(programme)) == installed
        assert _count(WorkOrderPhoto) == 3 * installed
        assert _count(LedgerEntry, LedgerEntry.category == "installation_fee") == installed
        status_import = db.session.scalars(select(OnlineStatusImport)).one()
        assert status_import.status == "done" and status_import.connected == states["connected"]
        assert [row["value"] for row in status_import.unmatched] == ["1440999999999"]
        # last month's SIM bill, reconciled: some of everything the reconciliation looks for
        statement = db.session.scalars(select(Statement)).one()
        assert statement.status == "done"
        outcomes = dict(db.session.execute(select(ReconciliationResult.outcome, func.count()).group_by(ReconciliationResult.outcome)).all())
        assert outcomes["unknown_sim"] == 3 and outcomes["duplicate_line"] == 1 and outcomes["matched"] > 0
        billed = db.session.scalar(select(func.sum(LedgerEntry.amount)).where(LedgerEntry.category.in_(("sim_plan_fee", "sim_overage"))))
        assert billed == statement.billed_total
        # tickets in every state of the workflow, from staff reports, the bill's silent SIMs and a road check
        ticket_states = {state for (state,) in db.session.execute(select(Ticket.state).distinct())}
        assert {"open", "assigned", "in_progress", "resolved", "closed"} <= ticket_states
        sources = {source for (source,) in db.session.execute(select(Ticket.source).distinct())}
        assert {"operator_call", "road_check"} <= sources
        assert _count(Ticket, Ticket.sla_state == "breached") > 0
        assert db.session.scalars(select(RoadCheckImport)).one().unknown_plates == 1
        # last quarter's audit, published with its worked findings, and a reviewer's query answered
        audit = db.session.scalars(select(AuditRun)).one()
        assert audit.status == "published" and audit.findings_count >= sum(1 for case in CASES if case.finding)
        assert db.session.scalars(select(FindingQuery)).one().state == "answered"


def test_demo_load_twice_changes_nothing(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["demo", "load", "--trucks", "30"])
    second = runner.invoke(args=["demo", "load", "--trucks", "30"])
    assert second.exit_code == 0
    assert "already loaded" in second.output
    with app.app_context():
        assert _count(Truck) == 30 + len(CASES)
