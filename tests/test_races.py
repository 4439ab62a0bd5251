"""Requests racing for one unique key: one wins, every other one answers 409 in the words of the check it raced past.

Each racing request has its own thread, client, app context and database session; a barrier releases them together.
Most races are also forced: every request waits between its check and its write until all have passed the check
(``meet_after_the_check``), so the database's unique index, not the check, decides who wins, every time. The races
need PostgreSQL (SQLite has a single writer); the safety net and the registry are tested on both databases.
"""
import io
import logging
import random
import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select, text

from insurer_dms import activity, constraints
from insurer_dms.auth.models import ContractorCompany, User
from insurer_dms.catalogue.models import CatalogueEntry
from insurer_dms.errors import DOES_NOT_FIT, Conflict
from insurer_dms.extensions import db
from insurer_dms.fleet.identifiers import make_credit_code, make_vin
from insurer_dms.fleet.models import Operator, Policy, Truck
from insurer_dms.installs.models import WorkOrder
from insurer_dms.inventory.models import Device
from insurer_dms.ledger.models import LedgerEntry
from insurer_dms.maintenance.models import Ticket
from insurer_dms.sims.models import DataPlan, Sim
from insurer_dms.transactions import race_guard
from tests import audit_query_factories as aq
from tests import factories
from tests import install_factories as f
from tests import sim_factories as sf
from tests import ticket_factories as tf
from tests.conftest import RoleClient

RNG = random.Random(14)
DAY = "2024-06-01"


@pytest.fixture
def postgres_only(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("concurrent writers need PostgreSQL; SQLite serialises every writer")


def all_at_once(app, role, calls):
    """Send ``calls`` [(method, url, kwargs)] as ``role``, one thread and client each, released together by a
    barrier; returns [(status, json body)] in the order of ``calls``."""
    barrier = threading.Barrier(len(calls), timeout=60)
    results = [None] * len(calls)

    def send(i, method, url, kwargs):
        client = RoleClient(app, role.user, role.token)  # its own client, app context and session
        barrier.wait()
        resp = client.open(method, url, **kwargs)
        results[i] = (resp.status_code, resp.get_json())

    threads = [threading.Thread(target=send, args=(i, *call), name=f"racer-{i}") for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert None not in results, "a racing request did not answer"
    return results


def meet_after_the_check(monkeypatch, owner, name, parties):
    """Every racing request (thread ``racer-*``) waits at its first call of ``owner.name``, which comes after its
    check and before its write, until all ``parties`` have passed their checks: then they all write at once."""
    real = getattr(owner, name)
    barrier = threading.Barrier(parties, timeout=60)
    met = threading.local()

    def after_the_check(*args, **kwargs):
        if threading.current_thread().name.startswith("racer-") and not getattr(met, "done", False):
            met.done = True
            barrier.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, after_the_check)


def statuses(results):
    return sorted(status for status, _ in results)


def words(body):
    """What a refusal tells the user: its message and field messages (the status aside)."""
    return body["message"], body.get("errors")


def post(url, body):
    return ("POST", url, {"json": body})


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# ---- work orders: the race of the issue ------------------------------------------------------------------


def _trucks(app, n):
    with app.app_context():
        return [(truck.id, truck.plate) for truck in (f.insured_truck() for _ in range(n))]


def _sixty_creates_for_twenty_trucks(app, ops, trucks):
    calls = [post("/api/work-orders", {"truck_id": truck_id, "on": DAY}) for truck_id, _ in trucks for _ in range(3)]
    random.Random(7).shuffle(calls)
    return calls, all_at_once(app, ops, calls)


def _check_one_order_per_truck(app, ops, trucks, calls, results, losers):
    assert set(status for status, _ in results) <= {201, *losers}, results
    winners = [calls[i][2]["json"]["truck_id"] for i, (status, _) in enumerate(results) if status == 201]
    assert sorted(winners) == sorted(truck_id for truck_id, _ in trucks)  # exactly one order per truck
    with app.app_context():
        assert count(WorkOrder) == len(trucks)
    # A loser hears what a request arriving a moment later is told by the eligibility check.
    friendly = {truck_id: ops.post("/api/work-orders", json={"truck_id": truck_id, "on": DAY}) for truck_id, _ in trucks}
    for truck_id, plate in trucks:
        assert friendly[truck_id].status_code == 422
        assert friendly[truck_id].json["message"] == f"Truck {plate} cannot get a work order (order_open)."
    for i, (status, body) in enumerate(results):
        if status != 201:
            assert words(body) == words(friendly[calls[i][2]["json"]["truck_id"]].json), body
    return statuses(results)


def test_sixty_concurrent_creates_for_twenty_trucks_open_twenty_orders_and_never_answer_500(app, ops, postgres_only):
    trucks = _trucks(app, 20)
    calls, results = _sixty_creates_for_twenty_trucks(app, ops, trucks)
    # 422: the check saw the winner's order; 409: the request raced past the check and the index refused it.
    _check_one_order_per_truck(app, ops, trucks, calls, results, losers={409, 422})


def test_creates_racing_past_the_check_are_refused_by_the_index_with_409_and_the_checks_words(app, ops, postgres_only,
                                                                                             monkeypatch):
    from insurer_dms.installs import service

    monkeypatch.setattr(service, "active_order", lambda truck_id: None)  # every request passes the check
    trucks = _trucks(app, 20)
    calls, results = _sixty_creates_for_twenty_trucks(app, ops, trucks)
    monkeypatch.undo()
    assert statuses(results) == [201] * 20 + [409] * 40
    _check_one_order_per_truck(app, ops, trucks, calls, results, losers={409})


def test_two_bulk_creates_for_one_county_open_each_order_once(app, ops, postgres_only, monkeypatch):
    from insurer_dms.installs import service

    trucks = _trucks(app, 5)
    meet_after_the_check(monkeypatch, service, "_new_order", 3)
    results = all_at_once(app, ops, [post("/api/work-orders/bulk", {"county_code": "445102", "on": DAY})] * 3)
    assert statuses(results) == [201, 409, 409]
    [created] = [body for status, body in results if status == 201]
    assert len(created["created"]) == 5
    message = "Another change opened orders in this county meanwhile; try again."
    assert all(words(body) == (message, {"county_code": [message]}) for status, body in results if status == 409)
    with app.app_context():
        assert count(WorkOrder) == 5
    again = ops.post("/api/work-orders/bulk", json={"county_code": "445102", "on": DAY})
    assert again.status_code == 201 and again.json["created"] == [] and len(again.json["refused"]) == len(trucks)


# ---- registrations: one key, several requests --------------------------------------------------------------


def _race_for_one_key(app, role, monkeypatch, calls, write_after=(activity, "record")):
    """Race ``calls`` past their checks; one is created (201), the others 409; returns (winner, loser bodies)."""
    meet_after_the_check(monkeypatch, *write_after, len(calls))
    results = all_at_once(app, role, calls)
    monkeypatch.undo()
    assert statuses(results) == [201] + [409] * (len(calls) - 1), results
    return ([body for status, body in results if status == 201][0], [body for status, body in results if status == 409])


def _same_words(losers, friendly, status=409):
    assert friendly.status_code == status, friendly.json
    for body in losers:
        assert words(body) == words(friendly.json)


def test_users_with_the_same_email_created_at_once(app, ops, postgres_only, monkeypatch):
    from insurer_dms.auth import service

    body = {"email": "new.tech@alpha.example.com", "role": "ops", "password": "password123"}
    _, losers = _race_for_one_key(app, ops, monkeypatch, [post("/api/users", body)] * 4,
                                  write_after=(service, "generate_password_hash"))
    _same_words(losers, ops.post("/api/users", json=body))
    assert words(losers[0]) == ("User new.tech@alpha.example.com already exists.", {"email": ["Already exists."]})
    with app.app_context():
        assert count(User, User.email == body["email"]) == 1


def test_two_contractors_of_a_new_company_created_at_once(app, ops, postgres_only, monkeypatch):
    calls = [post("/api/users", {"email": f"tech{i}@gamma.example.com", "role": "contractor", "password": "password123",
                                 "company": "Gamma Installations"}) for i in range(3)]
    _, losers = _race_for_one_key(app, ops, monkeypatch, calls)  # they meet after looking the company up
    message = "Contractor company Gamma Installations was created by another request at the same moment; try again."
    assert all(words(body) == (message, {"company": [message]}) for body in losers)
    with app.app_context():
        assert count(ContractorCompany, ContractorCompany.name == "Gamma Installations") == 1
    retries = [ops.post("/api/users", json=kwargs["json"]).status_code for _, _, kwargs in calls]  # the company is there now
    assert sorted(retries) == [201, 201, 409]  # 409: the winner's own e-mail


def test_one_catalogue_entry_from_simultaneous_creates(app, ops, postgres_only, monkeypatch):
    body = factories.entry_payload()
    _, losers = _race_for_one_key(app, ops, monkeypatch, [post("/api/catalogue", body)] * 4)
    _same_words(losers, ops.post("/api/catalogue", json=body))
    with app.app_context():
        assert count(CatalogueEntry) == 1


def test_one_catalogue_file_imported_twice_at_once(app, ops, postgres_only, monkeypatch):
    from insurer_dms.imports import RowErrors

    data = factories.csv_bytes(factories.HEADERS_EN, factories.catalogue_rows(5))
    meet_after_the_check(monkeypatch, RowErrors, "raise_if_any", 2)
    calls = [("POST", "/api/catalogue/import", {"data": {"file": (io.BytesIO(data), "catalogue.csv")},
                                                 "content_type": "multipart/form-data"}) for _ in range(2)]
    results = all_at_once(app, ops, calls)
    assert statuses(results) == [201, 409], results
    loser = [body for status, body in results if status == 409][0]
    duplicate = "An entry with this tender batch, lot and model code already exists."
    assert words(loser) == (duplicate, {"model_code": [duplicate]})
    with app.app_context():
        assert count(CatalogueEntry) == 5


def test_one_operator_truck_and_policy_per_key_from_simultaneous_creates(app, ops, postgres_only, monkeypatch):
    credit_code = make_credit_code(RNG, division="445102")
    winner, losers = _race_for_one_key(app, ops, monkeypatch, [
        post("/api/operators", {"name": f"潮州市运输公司{i}", "credit_code": credit_code, "county_code": "445102"})
        for i in range(3)])
    _same_words(losers, ops.post("/api/operators", json={"name": "又一家", "credit_code": credit_code, "county_code": "445102"}))
    assert words(losers[0])[0] == f"Credit code {credit_code} is already registered."

    truck = {"plate": "粤U12345", "plate_colour": 2, "vehicle_type": "goods_vehicle", "total_mass_kg": 18000,
             "county_code": "445102", "operator_id": winner["id"]}
    _, losers = _race_for_one_key(app, ops, monkeypatch, [  # the same plate, each with its own VIN
        post("/api/trucks", {**truck, "vin": make_vin(RNG)}) for _ in range(3)])
    _same_words(losers, ops.post("/api/trucks", json={**truck, "vin": make_vin(RNG)}))
    assert words(losers[0]) == ("Plate 粤U12345 is already registered.", {"plate": ["Plate 粤U12345 is already registered."]})

    with app.app_context():
        truck_id = db.session.scalar(select(Truck.id))
    policy = {"number": "PDAA202444510200000001", "truck_id": truck_id, "kind": "commercial", "start_date": "2024-01-01",
              "end_date": "2024-12-31", "premium": "9180.00", "benchmark_premium": "10800.00", "ncd_coefficient": "0.8500",
              "autonomous_coefficient": "1.0000"}
    _, losers = _race_for_one_key(app, ops, monkeypatch, [post("/api/policies", policy)] * 3)
    _same_words(losers, ops.post("/api/policies", json=policy))
    with app.app_context():
        assert (count(Operator), count(Truck), count(Policy)) == (1, 1, 1)


def test_one_policy_export_imported_twice_at_once(app, ops, postgres_only, monkeypatch):
    from insurer_dms.fleet.samples import ExportBuilder, to_csv
    from insurer_dms.imports import RowErrors

    data = to_csv(ExportBuilder(seed=5).rows(6))
    meet_after_the_check(monkeypatch, RowErrors, "raise_if_any", 2)
    results = all_at_once(app, ops, [("POST", "/api/policies/import", {
        "data": {"file": (io.BytesIO(data), "保单导出.csv")}, "content_type": "multipart/form-data"}) for _ in range(2)])
    assert statuses(results) == [200, 409], results
    loser = [body for status, body in results if status == 409][0]
    assert loser["message"].startswith("Credit code ") and loser["message"].endswith(" is already registered.")
    with app.app_context():
        assert count(Policy) == 6
    again = ops.post("/api/policies/import", data={"file": (io.BytesIO(data), "保单导出.csv")},
                     content_type="multipart/form-data")
    assert again.status_code == 200  # the loser's file again: everything is there, nothing changes


def test_one_purchase_order_per_number_from_simultaneous_creates(app, ops, postgres_only, monkeypatch):
    from insurer_dms.inventory import service

    with app.app_context():
        entry_id = factories.make_entry().id
    body = factories.po_payload([entry_id])
    _, losers = _race_for_one_key(app, ops, monkeypatch, [post("/api/purchase-orders", body)] * 3,
                                  write_after=(service, "_line_errors"))
    _same_words(losers, ops.post("/api/purchase-orders", json=body))


def test_a_serial_received_on_two_orders_at_once_is_registered_once(app, ops, postgres_only, monkeypatch):
    from insurer_dms.inventory import service

    with app.app_context():
        entry = factories.make_entry()
        orders = [factories.make_po([entry], number=f"PO-2021-{n:03d}") for n in range(3)]
        lines = [(po.id, po.lines[0].id) for po in orders]
    # Receipts on different orders take no common row lock: only the unique serial stands between them.
    calls = [post(f"/api/purchase-orders/{po_id}/receipts",
                  {"line_id": line_id, "devices": [{**factories.device_item(n), "serial": "SN-RACE-1"}]})
             for n, (po_id, line_id) in enumerate(lines, start=1)]
    _, losers = _race_for_one_key(app, ops, monkeypatch, calls, write_after=(service, "_store"))
    po_id, line_id = lines[0]
    friendly = ops.post(f"/api/purchase-orders/{po_id}/receipts",
                        json={"line_id": line_id, "devices": [{**factories.device_item(9), "serial": "SN-RACE-1"}]})
    assert friendly.status_code == 409
    for body in losers:  # the same message; the field is the serial (the check names its place in the list)
        assert body["message"] == friendly.json["message"] == "Some devices are already registered; nothing was stored."
        assert list(body["errors"].values()) == list(friendly.json["errors"].values()) == [
            ["Serial SN-RACE-1 is already registered."]]
    with app.app_context():
        assert count(Device) == 1


def test_one_sim_per_iccid_and_one_plan_per_code_from_simultaneous_registrations(app, ops, postgres_only, monkeypatch):
    plan = sf.plan_payload()
    _, losers = _race_for_one_key(app, ops, monkeypatch, [post("/api/data-plans", plan)] * 3)
    _same_words(losers, ops.post("/api/data-plans", json=plan))

    iccid = f.iccid()
    _, losers = _race_for_one_key(app, ops, monkeypatch, [  # the same ICCID, each with its own number
        post("/api/sims", {"iccid": iccid, "msisdn": f.msisdn(), "status": "in_stock"}) for _ in range(3)])
    _same_words(losers, ops.post("/api/sims", json={"iccid": iccid, "msisdn": f.msisdn(), "status": "in_stock"}))
    assert words(losers[0]) == (f"SIM {iccid} is already registered.", {"iccid": [f"SIM {iccid} is already registered."]})

    number = f.msisdn()
    winner, losers = _race_for_one_key(app, ops, monkeypatch, [  # the same terminal number on new ICCIDs
        post("/api/sims", {"iccid": f.iccid(), "msisdn": number, "status": "in_stock"}) for _ in range(3)])
    _same_words(losers, ops.post("/api/sims", json={"iccid": f.iccid(), "msisdn": number, "status": "in_stock"}))
    assert words(losers[0])[0] == f"Terminal number {number} belongs to another SIM ({winner['iccid']})."
    with app.app_context():
        assert (count(DataPlan), count(Sim)) == (1, 2)


def test_one_sim_file_imported_twice_at_once(app, ops, postgres_only, monkeypatch):
    from insurer_dms.imports import RowErrors

    with app.app_context():
        sf.make_plan()
    data = sf.csv_bytes(sf.SIM_HEADERS, sf.sim_rows(4, start=500))
    meet_after_the_check(monkeypatch, RowErrors, "raise_if_any", 2)
    calls = [("POST", "/api/sims/import", {"data": {"file": (io.BytesIO(data), "sims.csv")},
                                           "content_type": "multipart/form-data"}) for _ in range(2)]
    results = all_at_once(app, ops, calls)
    assert statuses(results) == [201, 409], results
    loser = [body for status, body in results if status == 409][0]
    assert loser["message"].startswith("SIM 8986") and loser["message"].endswith(" is already registered.")
    with app.app_context():
        assert count(Sim) == 4


# ---- one active ticket per truck and category; one open query per finding; a ledger entry reversed once ----


def test_simultaneous_reports_of_one_fault_make_one_ticket(app, ops, postgres_only, monkeypatch):
    from insurer_dms.maintenance import tickets

    with app.app_context():
        truck_id = tf.installed_truck().truck_id
    meet_after_the_check(monkeypatch, tickets, "open_ticket", 4)
    results = all_at_once(app, ops, [post("/api/tickets", {"truck_id": truck_id, "category": "camera_fault",
                                                            "description": f"report {i}"}) for i in range(4)])
    # The index refuses three of the four new tickets; each of those reports becomes an event on the winner's.
    assert statuses(results) == [200, 200, 200, 201], results
    assert len({body["id"] for _, body in results}) == 1
    with app.app_context():
        [ticket] = db.session.scalars(select(Ticket)).all()
        assert (ticket.state, ticket.signal_count) == ("open", 4)


def test_two_reviewers_raising_a_query_on_one_finding_at_once(app, reviewer, postgres_only, monkeypatch):
    from insurer_dms.audits import queries

    with app.app_context():
        finding = aq.published_finding()
        url = f"/api/audits/{finding.audit_id}/findings/{finding.id}/queries"
    _, losers = _race_for_one_key(app, reviewer, monkeypatch, [post(url, {"question": f"Why? ({i})"}) for i in range(3)],
                                  write_after=(queries, "_text"))
    _same_words(losers, reviewer.post(url, json={"question": "And now?"}))
    assert losers[0]["message"].startswith("This finding already has query ")


def test_two_corrections_of_one_ledger_entry_at_once_book_one(app, ops, postgres_only, monkeypatch):
    from insurer_dms.ledger import service as ledger

    with app.app_context():
        entry = ledger.post("installation_fee", Decimal("300.00"), "2026-09", "work_order", 1)
        db.session.commit()
        entry_id = entry.id
    url = f"/api/ledger/entries/{entry_id}/correction"
    calls = [post(url, {"amount": f"2{i}0.00", "note": "the contract fee"}) for i in range(3)]
    results = all_at_once(app, ops, calls)  # the entry's row lock: the losers see the winner's reversal
    assert statuses(results) == [201, 409, 409]
    friendly = ops.post(url, json={"amount": "111.00", "note": "again"})
    _same_words([body for status, body in results if status == 409], friendly)

    real_get = ledger.get_entry
    monkeypatch.setattr(ledger, "get_entry", lambda entry_id, lock=False: real_get(entry_id))  # no row lock
    with app.app_context():
        other = ledger.post("installation_fee", Decimal("300.00"), "2026-09", "work_order", 2)
        db.session.commit()
        other_id = other.id
    url = f"/api/ledger/entries/{other_id}/correction"
    _, losers = _race_for_one_key(app, ops, monkeypatch, [post(url, {"amount": f"2{i}0.00", "note": "fee"}) for i in range(3)],
                                  write_after=(ledger, "reverse"))
    _same_words(losers, ops.post(url, json={"amount": "111.00", "note": "again"}))
    with app.app_context():
        assert count(LedgerEntry, LedgerEntry.reverses_id.in_([entry_id, other_id])) == 2


def test_two_first_runs_of_one_audit_scope_at_once(app, ops, postgres_only, monkeypatch):
    body = {"period_from": "2024-07-01", "period_to": "2024-09-30"}
    meet_after_the_check(monkeypatch, activity, "record", 2)
    results = all_at_once(app, ops, [post("/api/audits", body)] * 2)
    monkeypatch.undo()
    assert statuses(results) == [202, 409], results
    message = "Another run of 2024-07-01..2024-09-30 was created at the same moment; try again."
    assert [words(b) for s, b in results if s == 409] == [(message, None)]
    again = ops.post("/api/audits", json=body)  # trying again makes the next version
    assert again.status_code == 202 and again.json["version"] == 2


def _statement(rows, period="2026-09"):
    header = ["iccid", "msisdn", "period", "data_kb", "sms_count", "plan_fee", "overage_fee", "total_fee"]
    return factories.csv_bytes(header, [[f.iccid(n), f"1440{n:09d}", period, "1000", "0", "20.00", "0.00", "20.00"]
                                        for n in rows])


def _upload(data, name):
    return ("POST", "/api/statements", {"data": {"file": (io.BytesIO(data), name)}, "content_type": "multipart/form-data"})


def test_two_first_statements_of_one_month_at_once_make_one_version(app, ops, postgres_only, monkeypatch):
    from insurer_dms.sims import statements

    meet_after_the_check(monkeypatch, statements, "_create", 2)  # both find no earlier version to lock
    results = all_at_once(app, ops, [_upload(_statement(range(1, 4)), "a.csv"), _upload(_statement(range(1, 6)), "b.csv")])
    assert statuses(results) == [202, 409], results
    message = "Another china_mobile statement for 2026-09 was stored at the same moment; upload again."
    assert [words(b) for s, b in results if s == 409] == [(message, None)]
    with app.app_context():
        from insurer_dms.sims.models import Statement

        assert db.session.scalars(select(Statement.version)).all() == [1]


def test_one_statement_file_uploaded_twice_at_once_is_stored_once(app, ops, postgres_only, monkeypatch):
    from insurer_dms.sims import statements

    meet_after_the_check(monkeypatch, statements, "_create", 2)
    data = _statement(range(1, 4))
    results = all_at_once(app, ops, [_upload(data, "a.csv"), _upload(data, "a.csv")])
    # The second one waited for the first one's commit and answers the statement already stored, as a repeat would.
    assert statuses(results) == [200, 202], results
    with app.app_context():
        from insurer_dms.sims.models import Statement

        assert db.session.scalar(select(func.count()).select_from(Statement)) == 1


# ---- the registry ------------------------------------------------------------------------------------------


def _unique_keys():
    from sqlalchemy import UniqueConstraint

    keys = {}
    for table in db.metadata.tables.values():
        for key in [c for c in table.constraints if isinstance(c, UniqueConstraint)] + [i for i in table.indexes if i.unique]:
            keys[key.name] = [c.name for c in key.columns]
    return keys


def test_every_unique_constraint_has_its_words_or_a_reason_it_cannot_race(ctx):
    keys = _unique_keys()
    assert set(constraints.GUARDS) | set(constraints.NO_RACE) == set(keys)
    assert not set(constraints.GUARDS) & set(constraints.NO_RACE)
    for name, guard in constraints.GUARDS.items():
        known = set(keys[name])
        if guard.lookup:  # the names the lookup gives, from a run that finds nothing
            known |= set(db.session.execute(text(guard.lookup), {c: "0" for c in keys[name]}).keys())
            db.session.rollback()
        for msgid in filter(None, (guard.message, guard.detail)):
            assert set(constraints._PARAMETER.findall(msgid)) <= known, (name, msgid)


def test_the_database_names_the_constraint_and_its_key(ctx):
    owner = f.operator()
    truck = f.insured_truck(owner=owner, policy=False)
    with pytest.raises(Exception) as caught:
        db.session.execute(insert(Truck).values(plate=truck.plate, plate_colour=2, vin=make_vin(RNG), vehicle_type="goods_vehicle",
                                                total_mass_kg=18000, county_code="445102", operator_id=owner.id))
    db.session.rollback()
    found = constraints.violation(caught.value)
    assert (found.kind, found.constraint) == ("unique", "uq_truck_plate")
    if db.engine.dialect.name == "postgresql":
        assert found.key == {"plate": truck.plate}


def test_a_composite_key_whose_values_cannot_be_told_apart_gives_no_parameters():
    assert constraints._pg_key("Key (carrier, code)=(china_mobile, CM-1G) already exists.") == {
        "carrier": "china_mobile", "code": "CM-1G"}
    assert constraints._pg_key("Key (carrier, code)=(china_mobile, CM, 1G) already exists.") is None
    assert constraints._pg_key("键值\"(plate)=(粤U12345)\" 已经存在") is None  # a server speaking another language


# ---- the safety net: an IntegrityError that escapes a service is never a 500 ---------------------------------


def _escaping(monkeypatch, statement):
    """POST /api/work-orders runs ``statement`` (a write the database refuses) with no guard around it."""
    from insurer_dms.installs import service

    def unguarded(*args, **kwargs):
        db.session.execute(statement())
        db.session.commit()

    monkeypatch.setattr(service, "create_order", unguarded)


def _a_truck(app):
    with app.app_context():
        owner = f.operator()
        truck = f.insured_truck(owner=owner, policy=False)
        return truck.id, truck.plate, owner.id


def test_a_duplicate_key_escaping_a_service_is_a_409_in_the_constraints_words(app, ops, monkeypatch, caplog):
    truck_id, plate, owner_id = _a_truck(app)
    _escaping(monkeypatch, lambda: insert(Truck).values(
        plate=plate, plate_colour=2, vin=make_vin(RNG), vehicle_type="goods_vehicle", total_mass_kg=18000,
        county_code="445102", operator_id=owner_id))
    with caplog.at_level(logging.WARNING):
        resp = ops.post("/api/work-orders", json={"truck_id": truck_id})
    assert resp.status_code == 409 and resp.json["code"] == 409 and resp.json["status"] == "Conflict"
    assert "plate" in resp.json["errors"]
    if db.engine.dialect.name == "postgresql":
        assert resp.json["message"] == f"Plate {plate} is already registered."
    assert any("outside a service's race guard" in r.getMessage() for r in caplog.records)
    assert ops.get(f"/api/trucks/{truck_id}").status_code == 200  # the session was rolled back: the app goes on


def test_the_refusal_speaks_the_users_language(app, ops, monkeypatch):
    truck_id, plate, owner_id = _a_truck(app)
    _escaping(monkeypatch, lambda: insert(Truck).values(
        plate=plate, plate_colour=2, vin=make_vin(RNG), vehicle_type="goods_vehicle", total_mass_kg=18000,
        county_code="445102", operator_id=owner_id))
    resp = ops.post("/api/work-orders", json={"truck_id": truck_id}, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert resp.status_code == 409
    if db.engine.dialect.name == "postgresql":
        assert resp.json["message"] == f"车牌号码 {plate} 已登记。"
    else:  # SQLite names the columns but not the values: the general words
        assert resp.json["message"] == "另一请求在同一时刻保存了相冲突的记录，未保存任何内容。请刷新后重试。"


def test_an_unknown_key_escaping_a_service_is_a_409_with_the_general_words(app, ops, monkeypatch):
    truck_id, plate, owner_id = _a_truck(app)
    _escaping(monkeypatch, lambda: insert(Truck).values(
        id=truck_id, plate="粤U00001", plate_colour=2, vin=make_vin(RNG), vehicle_type="goods_vehicle",
        total_mass_kg=18000, county_code="445102", operator_id=owner_id))  # the primary key again
    resp = ops.post("/api/work-orders", json={"truck_id": truck_id})
    assert resp.status_code == 409
    assert resp.json["message"] == constraints.GENERAL["unique"]


def test_a_missing_reference_escaping_a_service_is_a_409(app, ops, monkeypatch):
    truck_id, _plate, _owner = _a_truck(app)
    _escaping(monkeypatch, lambda: insert(Truck).values(
        plate="粤U00002", plate_colour=2, vin=make_vin(RNG), vehicle_type="goods_vehicle", total_mass_kg=18000,
        county_code="445102", operator_id=987654))
    resp = ops.post("/api/work-orders", json={"truck_id": truck_id})
    assert resp.status_code == 409
    assert resp.json["message"] == constraints.GENERAL["foreign_key"]


def test_a_missing_or_impossible_value_escaping_a_service_is_a_422(app, ops, monkeypatch):
    truck_id, _plate, owner_id = _a_truck(app)
    _escaping(monkeypatch, lambda: insert(Truck).values(
        plate="粤U00003", plate_colour=2, vin=None, vehicle_type="goods_vehicle", total_mass_kg=18000,
        county_code="445102", operator_id=owner_id))
    resp = ops.post("/api/work-orders", json={"truck_id": truck_id})
    assert resp.status_code == 422
    assert resp.json["message"] == constraints.GENERAL["not_null"] and resp.json["errors"] == {"vin": ["A value is required."]}

    _escaping(monkeypatch, lambda: insert(LedgerEntry).values(
        category="not_a_category", amount=Decimal("1.00"), period="2024-06", source_type="x", source_id="1"))
    resp = ops.post("/api/work-orders", json={"truck_id": truck_id})
    assert resp.status_code == 422 and resp.json["message"] == constraints.GENERAL["check"]


def test_a_value_the_column_cannot_hold_escaping_a_service_is_a_422(app, ops, monkeypatch, caplog, postgres_only):
    truck_id, _plate, owner_id = _a_truck(app)
    _escaping(monkeypatch, lambda: insert(Truck).values(
        plate="粤U00004", plate_colour=2, vin="X" * 500, vehicle_type="goods_vehicle", total_mass_kg=18000,
        county_code="445102", operator_id=owner_id))  # SQLite stores any length: PostgreSQL only
    with caplog.at_level(logging.ERROR):
        resp = ops.post("/api/work-orders", json={"truck_id": truck_id})
    assert resp.status_code == 422 and resp.json["message"] == str(DOES_NOT_FIT)
    assert any("no schema bounded" in r.getMessage() for r in caplog.records)
    assert ops.get(f"/api/trucks/{truck_id}").status_code == 200


def test_a_page_gets_the_refusal_page_not_a_server_error(app, monkeypatch):
    from insurer_dms.auth.service import create_user
    from insurer_dms.installs import service

    _truck_id, plate, owner_id = _a_truck(app)
    with app.app_context():
        create_user("desk@example.com", "ops", "password123")
    client = aq.session_client(app, "desk@example.com")

    def unguarded(county_code, on=None):
        db.session.execute(insert(Truck).values(
            plate=plate, plate_colour=2, vin=make_vin(RNG), vehicle_type="goods_vehicle", total_mass_kg=18000,
            county_code="445102", operator_id=owner_id))

    monkeypatch.setattr(service, "bulk_create", unguarded)
    resp = client.post("/work-orders/bulk", data={"county_code": "445102", "csrf_token": client.csrf})
    assert resp.status_code == 409 and "text/html" in resp.content_type


def test_a_race_guard_uses_its_own_words_when_given(app, monkeypatch):
    truck_id, plate, owner_id = _a_truck(app)
    with app.app_context():
        with pytest.raises(Conflict) as caught, race_guard("Someone else got there first.", "vin"):
            db.session.execute(insert(Truck).values(
                plate=plate, plate_colour=2, vin=make_vin(RNG), vehicle_type="goods_vehicle", total_mass_kg=18000,
                county_code="445102", operator_id=owner_id))
        assert (caught.value.message, caught.value.errors) == ("Someone else got there first.",
                                                               {"vin": ["Someone else got there first."]})
        assert db.session.scalar(select(func.count()).select_from(Truck)) == 1  # rolled back, usable
