"""Evidence photos for work orders: presigned uploads, registration, EXIF capture times.

Interface used by installs.service.close_order:
- ``missing_photos(order) -> list[str]``: the required photo kinds (PHOTO_KINDS) not registered on the order, or
  whose object is no longer in storage.
- ``flag_other_day_photos(order, install_day) -> list[str]``: marks each photo whose EXIF capture date (Asia/Shanghai)
  differs from ``install_day``, and photos without a capture time; sets ``order.needs_review`` when any is flagged;
  returns the flagged kinds. Does not commit (it runs inside the closing transaction).
"""
import datetime as dt
import io
import re
import uuid
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import activity
from ..errors import Conflict, Invalid, invalid
from ..extensions import db
from ..labels import named, named_list
from ..storage import S3Storage, storage
from ..types import utcnow
from .models import PHOTO_KINDS, WorkOrderPhoto

LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # install days and photo days are counted in local time
PHOTO_STATES = ("assigned", "scheduled", "rework")  # orders a technician is working on
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}
# Magic bytes: the stored object must really be an image, whatever Content-Type it was sent with.
SIGNATURES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
EXIF_IFD = 0x8769
DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 36867, 36881
THUMB_SUFFIX = ".thumb.jpg"  # a photo's thumbnail is stored beside it, under <original key>.thumb.jpg
THUMB_SIDE = 320  # pixels on the thumbnail's long side
NO_TIME_NOTE = "Photos without an EXIF capture time"
OTHER_DAY_NOTE = "Photos taken on another day than the install"


def _order_for(user, order_id, lock=False):
    from .service import get_order_for  # the WO rules decide who sees which order (404 for other companies)

    return get_order_for(user, order_id, lock=lock)


def _check_kind(kind):
    if kind not in PHOTO_KINDS:
        raise invalid("kind", _l("Unknown photo kind %(kind)r; expected one of %(kinds)s.", kind=kind, kinds=", ".join(PHOTO_KINDS)))


def _check_state(order):
    if order.state not in PHOTO_STATES:
        raise Conflict(_l("Work order %(number)s is %(state)s; photos are taken only while it is assigned, scheduled or in rework.",
                          number=order.number, state=named("order_state", order.state)))


def _max_bytes():
    return current_app.config["PHOTO_MAX_BYTES"]


def photo_errors(content_type, size):
    """Field errors for a photo about to be uploaded: JPEG or PNG, within PHOTO_MAX_BYTES."""
    errors = {}
    allowed = current_app.config["PHOTO_CONTENT_TYPES"]
    if content_type not in allowed:
        errors["content_type"] = [_l("Photos must be %(types)s, not %(type)s.", types=LazyString(lambda: _(" or ").join(allowed)),
                                        type=content_type)]
    if not isinstance(size, int) or size < 1 or size > _max_bytes():
        errors["size"] = [_l("A photo must be between 1 byte and %(max)s bytes.", max=_max_bytes())]
    return errors


def presign_upload(user, order_id, kind, content_type, size):
    """A short-lived URL the phone PUTs one photo to, straight into object storage."""
    errors = photo_errors(content_type, size)
    if kind not in PHOTO_KINDS:
        errors["kind"] = [_l("Unknown photo kind %(kind)r; expected one of %(kinds)s.", kind=kind, kinds=", ".join(PHOTO_KINDS))]
    if errors:
        raise Invalid(_l("The photo cannot be uploaded."), errors)
    order = _order_for(user, order_id)
    _check_state(order)
    key = f"work-orders/{order.id}/{kind}-{uuid.uuid4().hex}.{EXTENSIONS[content_type]}"
    return upload_grant(key, content_type)


def upload_grant(key, content_type):
    """The presigned PUT for one photo under ``key`` (S3, or the app's own signed upload target)."""
    expires = current_app.config["UPLOAD_URL_SECONDS"]
    store = storage()
    if isinstance(store, S3Storage):
        url = store.presigned_put(key, content_type, expires=expires)
    else:
        from .uploads import upload_url

        url = upload_url(key, content_type, _max_bytes())
    return {"url": url, "method": "PUT", "headers": {"Content-Type": content_type}, "key": key, "expires_in": expires}


def sniff_type(data):
    """The image type the bytes really are (by magic bytes and Pillow), or None."""
    from PIL import Image, UnidentifiedImageError

    kind = next((t for t, magic in SIGNATURES.items() if data.startswith(magic)), None)
    if kind is None:
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None  # DecompressionBombError: a header declaring more pixels than Pillow will ever decode
    return kind if {"image/jpeg": "JPEG", "image/png": "PNG"}[kind] == fmt else None


def exif_captured_at(data):
    """EXIF DateTimeOriginal as aware UTC (OffsetTimeOriginal when present, else Asia/Shanghai), or None."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            exif = image.getexif()
            sub = exif.get_ifd(EXIF_IFD)
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    raw = sub.get(DATETIME_ORIGINAL)
    if not isinstance(raw, str):
        return None
    try:
        local = dt.datetime.strptime(raw.strip("\x00 ").strip(), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None  # cameras write "0000:00:00 00:00:00" or blanks when the clock was never set
    tz = LOCAL_TZ
    offset = sub.get(OFFSET_TIME_ORIGINAL)
    if isinstance(offset, str):
        try:
            tz = dt.datetime.strptime(offset.strip("\x00 ").strip(), "%z").tzinfo
        except ValueError:
            pass  # an unreadable offset: the phone is most likely in local time
    return local.replace(tzinfo=tz).astimezone(dt.timezone.utc)


def _too_many_pixels(data):
    """True when the image declares more than PHOTO_MAX_PIXELS (read from its header; nothing is decoded)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError:
        return True
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return False  # not an image at all: sniff_type refuses it
    return width * height > current_app.config["PHOTO_MAX_PIXELS"]


def thumbnail_key(key):
    return key + THUMB_SUFFIX


def ensure_thumbnail(key, data=None):
    """The key of the thumbnail of the photo under ``key``, made once and stored beside it: a JPEG at most THUMB_SIDE
    pixels on its long side, EXIF orientation applied. Idempotent (an existing thumbnail is kept); ``data`` saves
    reading the original again. None when it cannot be made: the photo itself is never touched by a failure."""
    from PIL import Image, ImageOps

    store = storage()
    thumb = thumbnail_key(key)
    try:
        if store.exists(thumb):
            return thumb
        if data is None:
            if not store.exists(key):
                return None
            data = store.get(key)
        if _too_many_pixels(data):
            return None  # decoding stays bounded even for a photo registered before the limit
        with Image.open(io.BytesIO(data)) as original:
            original.draft("RGB", (THUMB_SIDE, THUMB_SIDE))  # JPEG: decode at a reduced scale, fast and small
            image = ImageOps.exif_transpose(original)
            image.thumbnail((THUMB_SIDE, THUMB_SIDE))
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                image = image.convert("RGBA")
                flat = Image.new("RGB", image.size, (255, 255, 255))
                flat.paste(image, mask=image.getchannel("A"))
                image = flat
            out = io.BytesIO()
            image.convert("RGB").save(out, format="JPEG", quality=80, optimize=True)
        store.put(thumb, out.getvalue(), "image/jpeg")
    except Exception:  # any decoder or storage failure: the photo stays evidence, the view falls back to it
        current_app.logger.warning("no thumbnail for %s", key, exc_info=True)
        return None
    return thumb


def _refuse(store, key, field, message):
    store.delete(key)  # a refused object must not linger as if it were evidence
    raise invalid(field, message)


def stored_photo(key):
    """The uploaded object under ``key`` checked as a photo: (bytes, size, content type); a bad one is deleted."""
    store = storage()
    size = store.size(key)
    if size is None:
        raise invalid("key", _l("No uploaded photo was found under this key; upload it first."))
    if key.endswith(THUMB_SUFFIX):
        raise invalid("key", _l("This key was not issued for this order and photo kind; ask for a new upload URL."))
    if size == 0 or size > _max_bytes():
        _refuse(store, key, "size", _l("A photo must be between 1 byte and %(max)s bytes (it was %(size)s).", max=_max_bytes(),
                                        size=size))
    data = store.get(key)
    if _too_many_pixels(data):
        most = "{:,}".format(current_app.config["PHOTO_MAX_PIXELS"])
        _refuse(store, key, "size", _l("A photo may have at most %(max)s pixels; take it at a lower resolution.", max=most))
    content_type = sniff_type(data)
    if content_type is None:
        _refuse(store, key, "content_type", _l("The uploaded file is not a JPEG or PNG image."))
    if not key.endswith("." + EXTENSIONS[content_type]):
        _refuse(store, key, "content_type", _l("The uploaded file is %(type)s, not the type announced for the upload.",
                                                  type=content_type))
    return data, size, content_type


def register_photo(user, order_id, kind, key):
    """Record an uploaded photo on its order after checking the stored object; replaces an earlier one of the kind."""
    _check_kind(kind)
    order = _order_for(user, order_id, lock=True)
    _check_state(order)
    if not isinstance(key, str) or not key.startswith(f"work-orders/{order.id}/{kind}-") or ".." in key:
        raise invalid("key", _l("This key was not issued for this order and photo kind; ask for a new upload URL."))
    data, size, content_type = stored_photo(key)

    photo = db.session.scalar(select(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == order.id, WorkOrderPhoto.kind == kind))
    old_key = None
    values = {"object_key": key, "content_type": content_type, "size_bytes": size, "captured_at": exif_captured_at(data),
              "other_day": False, "uploaded_at": utcnow()}
    if photo is None:
        photo = WorkOrderPhoto(work_order_id=order.id, kind=kind, **values)
        db.session.add(photo)
        activity.record("create", photo)
    elif photo.object_key != key:
        old_key = photo.object_key
        before, after = activity.changes(photo, values)
        activity.record("replace", photo, before, after)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("Another upload of this photo was registered at the same moment; try again."))
    if old_key:
        storage().delete(old_key)  # after the commit: the replaced photo is no longer evidence
        storage().delete(thumbnail_key(old_key))
    ensure_thumbnail(key, data)
    return photo


def photos(user, order_id):
    """The order's photos (any state: ops check them after closing too)."""
    order = _order_for(user, order_id)
    return order, list(order.photos)


def download_url(photo):
    """A short-lived URL to view one photo."""
    store = storage()
    expires = current_app.config["UPLOAD_URL_SECONDS"]
    if isinstance(store, S3Storage):
        return store.presigned_get(photo.object_key, expires=expires)
    from .uploads import download_url as local_download_url

    return local_download_url(photo.object_key, photo.content_type)


def missing_photos(order):
    """Required kinds not registered on ``order``, or whose object has vanished from storage."""
    store = storage()
    have = {p.kind: p for p in order.photos}
    return [k for k in PHOTO_KINDS if k not in have or not store.exists(have[k].object_key)]


def flag_other_day_photos(order, install_day):
    """Flag photos taken on another day than ``install_day`` (Asia/Shanghai) or without a capture time."""
    other, untimed = [], []
    for photo in order.photos:
        day = photo.captured_at.astimezone(LOCAL_TZ).date() if photo.captured_at else None
        photo.other_day = day is not None and day != install_day
        if photo.other_day:
            other.append(f"{photo.kind} ({day.isoformat()})")
        elif day is None:
            untimed.append(photo.kind)
    notes = []
    if other:
        notes.append(f"{OTHER_DAY_NOTE} ({install_day.isoformat()}): {', '.join(other)}.")
    if untimed:
        notes.append(f"{NO_TIME_NOTE}: {', '.join(untimed)}.")
    if notes:
        order.needs_review = True
        kept = [line for line in (order.review_note or "").splitlines() if not line.startswith((OTHER_DAY_NOTE, NO_TIME_NOTE))]
        order.review_note = "\n".join(kept + notes)
    return [p.kind for p in order.photos if p.other_day or p.captured_at is None]


_OTHER_DAY_LINE = re.compile(re.escape(OTHER_DAY_NOTE) + r" \((\d{4}-\d{2}-\d{2})\): (.+)\.")
_OTHER_DAY_PHOTO = re.compile(r"(\w+) \((\d{4}-\d{2}-\d{2})\)")
_NO_TIME_LINE = re.compile(re.escape(NO_TIME_NOTE) + r": (\w+(?:, \w+)*)\.")


def review_note_text(note):
    """A work order's review note as a page shows it: the lines ``flag_other_day_photos`` wrote (stored in English)
    in the user's language, the photo kinds by their labels; what a person typed as it is."""
    lines = []
    for line in (note or "").splitlines():
        if (untimed := _NO_TIME_LINE.fullmatch(line)) is not None:
            line = _("Photos without an EXIF capture time: %(kinds)s.", kinds=named_list("photo_kind", untimed[1].split(", ")))
        elif (other := _OTHER_DAY_LINE.fullmatch(line)) is not None and all(
                _OTHER_DAY_PHOTO.fullmatch(item) for item in other[2].split(", ")):
            photos = [_("%(kind)s (%(day)s)", kind=named("photo_kind", m[1]), day=m[2])
                      for m in (_OTHER_DAY_PHOTO.fullmatch(item) for item in other[2].split(", "))]
            line = _("Photos taken on another day than the install (%(day)s): %(photos)s.", day=other[1],
                     photos=_list(photos))
        lines.append(line)
    return "\n".join(lines)


def _list(texts):
    locale = get_locale()
    return (", " if locale is None or locale.language == "en" else "、").join(texts)
