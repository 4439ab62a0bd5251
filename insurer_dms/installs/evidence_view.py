"""Seeing evidence photos: who may see which, and the answer for a full-size photo or its thumbnail.

Who: the work order's rule (ops any order, a contractor its company's, 404 for others), and for a reviewer only the
installation evidence of trucks that appear in a finding of a published audit (404 for anything else, drafts
included). What: the photo through the app (local folder store) or a redirect to a presigned S3 URL living
EVIDENCE_URL_SECONDS; either way shown inline, with its own Content-Type, never sniffed, cached privately.
"""
from flask import current_app, redirect
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from .. import times
from ..auth.models import Role
from ..downloads import content_disposition, file_response
from ..errors import NotFound
from ..extensions import db
from ..storage import S3Storage, storage
from .evidence import ensure_thumbnail
from .models import WorkOrder, WorkOrderPhoto


def local_time(value):
    """A stored UTC time as the pages show it (``times.local_time``), or None."""
    return times.local_time(value) if value is not None else None


def _reviewer_sees(truck_id):
    from ..audits.service import truck_in_published_finding

    return truck_in_published_finding(truck_id)


def order_for_viewing(user, order_id):
    """The order whose evidence ``user`` may see, else NotFound (the same answer as for an order that does not exist)."""
    from .service import get_order, get_order_for

    if user.role is Role.REVIEWER:
        order = get_order(order_id)
        if not _reviewer_sees(order.truck_id):
            raise NotFound(_l("No work order %(id)s.", id=order_id))
        return order
    return get_order_for(user, order_id)


def photo_for_viewing(user, order_id, photo_id):
    order = order_for_viewing(user, order_id)
    for photo in order.photos:
        if photo.id == photo_id:
            return photo
    raise NotFound(_l("No photo %(id)s on this work order.", id=photo_id))


def truck_photos(user, truck_id):
    """The installation evidence of the truck's work orders that ``user`` may see: newest order first, its photos by
    kind (each with its ``work_order`` loaded). A reviewer gets none unless the truck is in a published finding."""
    stmt = (select(WorkOrderPhoto).join(WorkOrderPhoto.work_order).options(contains_eager(WorkOrderPhoto.work_order))
            .where(WorkOrder.truck_id == truck_id)
            .order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc(), WorkOrderPhoto.kind))
    if user.role is Role.REVIEWER and not _reviewer_sees(truck_id):
        return []
    if user.role is Role.CONTRACTOR:
        stmt = stmt.where(WorkOrder.company_id == user.company_id)
    return db.session.scalars(stmt).all()


def photo_response(photo, thumbnail=False):
    """The photo (or its thumbnail, made on first view when registration could not) for an <img> or a new tab.

    A photo whose thumbnail cannot be made is answered in full size: it stays visible, scaled by the page."""
    store = storage()
    key, content_type = photo.object_key, photo.content_type
    thumb = ensure_thumbnail(photo.object_key) if thumbnail else None
    if thumb is not None:
        key, content_type = thumb, "image/jpeg"  # known to be stored: no second look
    elif not store.exists(key):
        raise NotFound(_l("This photo is no longer in storage."))
    seconds = current_app.config["EVIDENCE_URL_SECONDS"]
    cache = f"private, max-age={seconds}"
    name = key.rsplit("/", 1)[-1]  # keys are ours: kind, hex, extension
    if isinstance(store, S3Storage):
        url = store.presigned_get(key, expires=seconds, content_type=content_type, disposition=content_disposition(name, "inline"), cache_control=cache)
        response = redirect(url, 302)
        response.headers["Cache-Control"] = "private, no-store"  # the access check runs again on every view
        return response
    return file_response(store.get(key), name, content_type, disposition="inline",
                         headers={"X-Content-Type-Options": "nosniff", "Cache-Control": cache})
