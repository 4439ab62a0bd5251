"""Ticket pages: the operations list with filters, the new-ticket form, the detail with its actions and refusals;
the contractor's phone pages; and Chromium working a ticket end to end (ops replaces a device, a technician
uploads a photo and resolves)."""
import datetime as dt

from sqlalchemy import select

from insurer_dms.extensions import db
from insurer_dms.inventory.models import Device
from insurer_dms.maintenance.models import Ticket, TicketPhoto
from tests import install_factories as f
from tests import ticket_factories as tf


def html(resp):
    return resp.get_data(as_text=True)


def state_of(ticket_id):
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id).state


# ---- operations pages ----------------------------------------------------------------------------------


def test_the_ops_list_shows_and_filters_tickets(ctx, ops):
    offline = tf.installed_truck_with_ticket("open", category="device_offline")
    camera = tf.installed_truck_with_ticket("assigned", category="camera_fault")
    page = html(ops.get("/tickets"))
    assert f'id="ticket-{offline.id}"' in page and f'id="ticket-{camera.id}"' in page
    assert "Device offline" in page and "2 tickets" in page
    page = html(ops.get("/tickets?category=camera_fault"))
    assert f'id="ticket-{camera.id}"' in page and f'id="ticket-{offline.id}"' not in page
    page = html(ops.get(f"/tickets?plate={offline.truck.plate}&state=active"))
    assert f'id="ticket-{offline.id}"' in page and f'id="ticket-{camera.id}"' not in page
    resp = ops.get("/tickets?state=nonsense")
    assert resp.status_code == 200 and "Some filters were ignored" in html(resp)


def test_the_detail_offers_only_the_actions_of_the_state(ctx, ops):
    ticket = tf.installed_truck_with_ticket("open")
    page = html(ops.get(f"/tickets/{ticket.id}"))
    assert all(f'id="{form}"' in page for form in ("assign-form", "cancel-form", "note-form", "cost-form"))
    assert all(f'id="{form}"' not in page for form in ("start-form", "resolve-form", "close-form", "reopen-form"))
    assert ticket.number in page and ticket.truck.plate in page and "Time in each state" in page
    ticket = tf.installed_truck_with_ticket("resolved")
    page = html(ops.get(f"/tickets/{ticket.id}"))
    assert 'id="close-form"' in page and 'id="reopen-form"' in page and 'id="assign-form"' not in page
    assert "Repaired on site" in page


def test_ops_works_a_ticket_through_the_page_forms(ctx, ops):
    ticket = tf.installed_truck_with_ticket("open")
    alpha = f.company(tf.ALPHA)
    steps = [("assign", {"company_id": alpha.id}, "assigned"), ("start", {}, "in_progress"),
             ("resolve", {"resolution": "no_fault_found", "note": "Driver had switched it off"}, "resolved"),
             ("close", {"note": ""}, "closed"), ("reopen", {"reason": "Off again"}, "assigned"),
             ("cancel", {"reason": "Truck sold"}, "cancelled")]
    for action, form, expected in steps:
        resp = ops.post(f"/tickets/{ticket.id}/{action}", data=form)
        assert resp.status_code == 302 and resp.location.endswith(f"/tickets/{ticket.id}"), (action, html(resp))
        assert state_of(ticket.id) == expected
    page = html(ops.get(f"/tickets/{ticket.id}"))
    assert "Off again" in page and "Truck sold" in page and 'id="ticket-reopened"' in page


def test_a_refused_resolution_is_shown_next_to_its_field_and_keeps_the_form(ctx, ops):
    ticket = tf.installed_truck_with_ticket("in_progress")
    resp = ops.post(f"/tickets/{ticket.id}/resolve", data={"resolution": "device_replaced", "note": "Swap", "device_serial": "NOPE-1"})
    assert resp.status_code == 422
    page = html(resp)
    assert 'id="error-device_serial"' in page and 'value="NOPE-1"' in page
    assert state_of(ticket.id) == "in_progress"
    resp = ops.post(f"/tickets/{ticket.id}/close", data={})
    assert resp.status_code == 409 and "cannot go from in_progress to closed" in html(resp)


def test_notes_and_costs_from_the_page(ctx, ops):
    ticket = tf.installed_truck_with_ticket("in_progress")
    assert ops.post(f"/tickets/{ticket.id}/notes", data={"note": "Called the driver"}).status_code == 302
    assert ops.post(f"/tickets/{ticket.id}/costs", data={"category": "parts", "amount": "42.50", "description": "Fuse"}).status_code == 302
    resp = ops.post(f"/tickets/{ticket.id}/costs", data={"category": "parts", "amount": "4.255"})
    assert resp.status_code == 422 and 'id="error-amount"' in html(resp)
    page = html(ops.get(f"/tickets/{ticket.id}"))
    assert "Called the driver" in page and "42.50" in page and 'id="cost-total">42.50' in page


def test_ops_opens_a_ticket_from_the_form(ctx, ops):
    order = tf.installed_truck()
    resp = ops.post("/tickets/new", data={"plate": order.truck.plate.lower(), "category": "camera_fault", "priority": "high",
                                          "source": "operator_call", "description": "No picture", "company_id": ""})
    assert resp.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert resp.location.endswith(f"/tickets/{ticket.id}")
    assert (ticket.category, ticket.priority, ticket.source, ticket.device_id) == ("camera_fault", "high", "operator_call", order.device_id)
    resp = ops.post("/tickets/new", data={"plate": "粤U0000X", "category": "other"})
    assert resp.status_code == 422 and 'id="error-plate"' in html(resp) and 'value="粤U0000X"' in html(resp)


def test_contractors_and_reviewers_are_refused_the_operations_pages(ctx, contractor, reviewer):
    ticket = tf.installed_truck_with_ticket("assigned")
    for client in (contractor, reviewer):
        assert client.get("/tickets").status_code == 403
        assert client.get(f"/tickets/{ticket.id}").status_code == 403
        assert client.post(f"/tickets/{ticket.id}/close", data={}).status_code == 403
        assert client.post("/tickets/new", data={}).status_code == 403
    assert reviewer.post(f"/tickets/{ticket.id}/start").status_code == 403
    assert state_of(ticket.id) == "assigned"


# ---- contractor pages ----------------------------------------------------------------------------------


def test_my_tickets_shows_only_my_companys(ctx, contractor, ops, reviewer):
    mine = tf.installed_truck_with_ticket("assigned", tf.ALPHA)
    theirs = tf.installed_truck_with_ticket("assigned", tf.BETA)
    page = html(contractor.get("/my/tickets"))
    assert f'id="ticket-{mine.id}"' in page and f'id="ticket-{theirs.id}"' not in page
    assert 'id="nav-my-tickets"' in page
    assert ops.get("/my/tickets").status_code == 403 and reviewer.get("/my/tickets").status_code == 403


def test_another_companys_ticket_is_a_404_page_and_takes_no_action(ctx, other_contractor):
    ticket = tf.installed_truck_with_ticket("assigned", tf.ALPHA)
    resp = other_contractor.get(f"/my/tickets/{ticket.id}")
    assert resp.status_code == 404 and resp.mimetype == "text/html"
    for action, form in (("start", {}), ("resolve", {"resolution": "no_fault_found", "note": "x"}), ("notes", {"note": "x"}),
                         ("costs", {"category": "travel", "amount": "10.00"})):
        assert other_contractor.post(f"/tickets/{ticket.id}/{action}", data=form).status_code == 404
    assert state_of(ticket.id) == "assigned"


def test_the_contractor_starts_and_resolves_from_the_phone_page(ctx, contractor):
    ticket = tf.installed_truck_with_ticket("assigned", tf.ALPHA)
    page = html(contractor.get(f"/my/tickets/{ticket.id}"))
    assert 'id="start-form"' in page and 'id="resolve-form"' not in page and 'capture="environment"' in page
    resp = contractor.post(f"/tickets/{ticket.id}/start")
    assert resp.status_code == 302 and resp.location.endswith(f"/my/tickets/{ticket.id}")
    page = html(contractor.get(f"/my/tickets/{ticket.id}"))
    assert 'id="resolve-form"' in page and 'id="cost-form"' in page and 'id="close-form"' not in page
    resp = contractor.post(f"/tickets/{ticket.id}/resolve", data={"resolution": "repaired_on_site", "note": ""})
    assert resp.status_code == 422 and 'id="error-note"' in html(resp)
    assert contractor.post(f"/tickets/{ticket.id}/resolve", data={"resolution": "repaired_on_site", "note": "Refitted plug"}).status_code == 302
    assert state_of(ticket.id) == "resolved"


# ---- Chromium ------------------------------------------------------------------------------------------


def test_ops_replaces_a_faulty_device_through_the_pages(app, login_as):
    with app.app_context():
        ticket = tf.installed_truck_with_ticket("open", category="camera_fault")
        ticket_id, number, old_serial = ticket.id, ticket.number, ticket.device.serial
        spare = tf.spare_device().serial
        f.company(tf.BETA)
    page = login_as("ops")
    page.click("text=Tickets")
    page.fill("#filter-q", number)
    page.click("#filter-submit")
    page.click(f"#ticket-{ticket_id} >> text={number}")
    assert page.inner_text("#ticket-device").startswith(old_serial)

    page.select_option("#assign-company", label=tf.BETA)
    page.click("#assign-submit")
    page.wait_for_selector('#ticket-state [data-state="assigned"]')
    assert page.inner_text("#ticket-company") == tf.BETA
    page.click("#start-submit")
    page.wait_for_selector('#ticket-state [data-state="in_progress"]')

    page.select_option("#resolution", "device_replaced")
    page.fill("#resolve-note", "ADAS camera dead; unit swapped")
    page.fill("#device_serial", "NOT-IN-STOCK")
    page.click("#resolve-submit")
    assert "NOT-IN-STOCK" in page.inner_text("#error-device_serial")
    page.fill("#device_serial", spare)
    page.click("#resolve-submit")
    page.wait_for_selector('#ticket-state [data-state="resolved"]')
    assert page.inner_text("#ticket-new-device") == spare
    assert "Device replaced" in page.inner_text("#ticket-resolution")
    assert "Maintenance labour" in page.inner_text("#ticket-costs")  # the fitting, at Beta's installation fee

    page.click("#close-submit")
    page.wait_for_selector('#ticket-state [data-state="closed"]')
    with app.app_context():
        assert db.session.scalar(select(Device.status).where(Device.serial == old_serial)) == "in_repair"
        assert db.session.scalar(select(Device.status).where(Device.serial == spare)) == "installed"
        assert db.session.get(Ticket, ticket_id).state == "closed"


def test_a_technician_photographs_and_resolves_a_ticket_on_the_phone(app, login_as, tmp_path):
    with app.app_context():
        ticket = tf.installed_truck_with_ticket("assigned", tf.ALPHA, category="power_wiring")
        ticket_id, plate = ticket.id, ticket.truck.plate
        other_id = tf.installed_truck_with_ticket("assigned", tf.BETA).id
    photo = tmp_path / "fuse.jpg"
    photo.write_bytes(f.photo_jpeg(dt.datetime(2024, 6, 4, 15, 20, tzinfo=f.LOCAL_TZ), size=(640, 480)))

    page = login_as("contractor")
    page.set_viewport_size({"width": 390, "height": 844})
    page.click("#nav-my-tickets")
    assert page.locator(f"#ticket-{other_id}").count() == 0
    page.click(f"#ticket-{ticket_id}")
    assert page.inner_text("#ticket-plate") == plate
    page.click("#start-submit")
    page.wait_for_selector('#ticket-state [data-state="in_progress"]')

    page.set_input_files("#photo-input-ticket", str(photo))
    page.wait_for_selector('#photo-status-ticket[data-done="yes"]', timeout=20000)
    assert "Uploaded" in page.inner_text("#photo-status-ticket")

    page.select_option("#cost-category", "parts")
    page.fill("#cost-amount", "38.00")
    page.fill("#cost-description", "Inline fuse")
    page.click("#cost-submit")
    page.wait_for_selector("#cost-total")
    assert page.inner_text("#cost-total") == "38.00"

    page.select_option("#resolution", "repaired_on_site")
    page.fill("#resolve-note", "Blown fuse in the power line replaced")
    page.click("#resolve-submit")
    page.wait_for_selector('#ticket-state [data-state="resolved"]')
    assert page.locator("#ticket-photos li").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    with app.app_context():
        ticket = db.session.get(Ticket, ticket_id)
        assert ticket.state == "resolved" and ticket.resolution == "repaired_on_site"
        [stored] = db.session.scalars(select(TicketPhoto).where(TicketPhoto.ticket_id == ticket_id)).all()
        assert stored.captured_at == dt.datetime(2024, 6, 4, 7, 20, tzinfo=dt.timezone.utc)
