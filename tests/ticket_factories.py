"""Ticket test data: installed trucks with maintenance tickets in any state, spare devices, ticket photos.

Shared by the ticket, signal and SLA tests. Every helper needs an app context (the ``ctx`` fixture) and commits
what it creates. States are reached through the ticket service, so spans, events and activity are real.
"""
import datetime as dt
import uuid

from insurer_dms.extensions import db
from tests import install_factories as f

ALPHA, BETA = "Alpha Installations", "Beta Installations"
# The service's path from ``open`` to each state (``cancelled`` is reached from ``open``).
PATH = {"open": (), "assigned": ("assigned",), "in_progress": ("assigned", "in_progress"),
        "resolved": ("assigned", "in_progress", "resolved"), "closed": ("assigned", "in_progress", "resolved", "closed"),
        "cancelled": ("cancelled",)}


def installed_truck(company_name=ALPHA, installed_at=f.INSTALLED_AT):
    """A truck with a device installed and an active SIM in it (by a work order of ``company_name``).

    Returns the installing work order: ``.truck``, ``.device``, ``.sim``.
    """
    return f.installed_directly(company_name=company_name, installed_at=installed_at)


def ticket_on(order, category="device_offline", source="staff", priority="normal", description="Device dark for 4 days",
              opened_at=None):
    """An open ticket about the device ``order`` installed (committed)."""
    from insurer_dms.maintenance import tickets

    ticket = tickets.open_ticket(order.truck_id, category, source, priority=priority, device_id=order.device_id,
                                 description=description, at=opened_at)
    db.session.commit()
    return ticket


def advance(ticket, state, company_name=ALPHA, resolution="repaired_on_site", note="Loose power connector refitted"):
    """Move ``ticket`` along the service's path to ``state`` (as the system user); returns it."""
    from insurer_dms.maintenance import service

    done = PATH[ticket.state]  # the steps already taken: a prefix of the path to ``state``
    for step in PATH[state][len(done):]:
        if step == "assigned":
            service.assign(ticket.id, f.company(company_name).id)
        elif step == "in_progress":
            service.start(None, ticket.id)
        elif step == "resolved":
            service.resolve(None, ticket.id, {"resolution": resolution, "note": note})
        elif step == "closed":
            service.close(ticket.id)
        elif step == "cancelled":
            service.cancel(ticket.id, "Reported by mistake")
    db.session.refresh(ticket)
    return ticket


def installed_truck_with_ticket(state="open", company_name=ALPHA, category="device_offline", source="staff",
                                priority="normal", opened_at=None):
    """A truck with a device and SIM, installed by ``company_name``, and a ticket about it in ``state``.

    The ticket (assigned to ``company_name`` once past ``open``) is returned; ``ticket.truck``/``ticket.device``.
    """
    order = installed_truck(company_name or ALPHA)
    ticket = ticket_on(order, category=category, source=source, priority=priority, opened_at=opened_at)
    return advance(ticket, state, company_name=company_name or ALPHA)


def spare_device():
    """A device in stock, to replace a faulty one."""
    return f.stock_device()


def with_ticket_photo(ticket, taken_at=f.INSTALLED_AT):
    """A photo registered on ``ticket`` directly (object put into the app's storage too)."""
    from insurer_dms.maintenance.models import TicketPhoto
    from insurer_dms.storage import storage

    data = f.photo_jpeg(taken_at)
    key = f"tickets/{ticket.id}/photo-{uuid.uuid4().hex}.jpg"
    storage().put(key, data, "image/jpeg")
    photo = TicketPhoto(ticket_id=ticket.id, object_key=key, content_type="image/jpeg", size_bytes=len(data),
                        captured_at=taken_at.astimezone(dt.timezone.utc))
    db.session.add(photo)
    db.session.commit()
    return photo
