"""Photos of a ticket's fault or repair: presigned uploads straight to object storage, as for installation evidence.

The checks on the stored object (real JPEG/PNG, size), the EXIF capture time and the URLs are those of
``installs.evidence``; a ticket may carry any number of photos while it is being worked on.
"""
import uuid

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import activity
from ..errors import Conflict, Invalid, NotFound, invalid
from ..extensions import db
from ..installs import evidence
from ..labels import named
from ..transactions import commit_or_conflict
from . import service, tickets
from .models import TicketPhoto

PHOTO_STATES = ("open", "assigned", "in_progress", "resolved")


def _check_state(ticket):
    if ticket.state not in PHOTO_STATES:
        message = _l("Ticket %(number)s is %(state)s; photos are added until it is closed.", number=ticket.number,
                     state=named("ticket_state", ticket.state))
        raise Conflict(message, {"state": [message]})


def presign(user, ticket_id, content_type, size):
    """A short-lived URL to PUT one photo of the ticket to, straight into object storage."""
    errors = evidence.photo_errors(content_type, size)
    if errors:
        raise Invalid(_l("The photo cannot be uploaded."), errors)
    ticket = service.get_ticket_for(user, ticket_id)
    _check_state(ticket)
    key = f"tickets/{ticket.id}/photo-{uuid.uuid4().hex}.{evidence.EXTENSIONS[content_type]}"
    return evidence.upload_grant(key, content_type)


def register(user, ticket_id, key):
    """Record an uploaded photo on the ticket after checking the stored object (registering twice is harmless)."""
    ticket = service.get_ticket_for(user, ticket_id, lock=True)
    _check_state(ticket)
    if not isinstance(key, str) or not key.startswith(f"tickets/{ticket.id}/photo-") or ".." in key:
        raise invalid("key", _l("This key was not issued for this ticket; ask for a new upload URL."))
    known = db.session.scalar(select(TicketPhoto).where(TicketPhoto.object_key == key))
    if known is not None:
        db.session.rollback()
        return known
    data, size, content_type = evidence.stored_photo(key)
    photo = TicketPhoto(ticket=ticket, object_key=key, content_type=content_type, size_bytes=size,
                        captured_at=evidence.exif_captured_at(data), uploaded_by_id=tickets._user_id())
    db.session.add(photo)
    activity.record("create", photo)
    tickets.add_event(ticket, "photo", data={"photo_id": photo.id, "captured_at": photo.captured_at})
    commit_or_conflict(_l("This photo was registered at the same moment by another request."), "key")
    evidence.ensure_thumbnail(key, data)
    return photo


def photo_for(user, ticket_id, photo_id):
    """One photo of a ticket ``user`` may see (another company's ticket: not found, as for the ticket itself)."""
    ticket = service.get_ticket_for(user, ticket_id)
    for photo in ticket.photos:
        if photo.id == photo_id:
            return photo
    raise NotFound(_l("No photo %(id)s on this ticket.", id=photo_id))


def download_url(photo):
    """A short-lived URL to view one photo."""
    return evidence.download_url(photo)
