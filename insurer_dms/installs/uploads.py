"""Presigned uploads and downloads for the local object folder, so phones work the same without S3.

The signed token is the credential (like an S3 presigned URL): it names the object key, the content type the
upload must carry and its maximum size, and it expires after UPLOAD_URL_SECONDS.
"""
from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from werkzeug.exceptions import Forbidden, RequestEntityTooLarge, UnsupportedMediaType

from ..errors import Conflict, NotFound, invalid
from ..extensions import db
from ..storage import storage

UPLOAD_SALT = "insurer_dms.photo-upload"
DOWNLOAD_SALT = "insurer_dms.photo-download"
ENDPOINT = "installs_evidence_api.ObjectTransfer"


def _serializer(salt):
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def upload_url(key, content_type, max_size):
    """The URL a client PUTs the object to (absolute, on the host the request came in by)."""
    token = _serializer(UPLOAD_SALT).dumps({"key": key, "content_type": content_type, "max_size": max_size})
    return _absolute(url_for(ENDPOINT, token=token))


def download_url(key, content_type):
    token = _serializer(DOWNLOAD_SALT).dumps({"key": key, "content_type": content_type})
    return _absolute(url_for(ENDPOINT, token=token))


def _absolute(path):
    # The Host the client used, not SERVER_NAME: the phone must reach the URL exactly as it reached the API.
    return request.host_url.rstrip("/") + path


def _load(token, salt):
    try:
        return _serializer(salt).loads(token, max_age=current_app.config["UPLOAD_URL_SECONDS"])
    except SignatureExpired:
        raise Forbidden(_l("This upload link has expired; ask for a new one."))
    except BadSignature:
        raise Forbidden(_l("This link is not valid."))


def _read_body(max_size):
    """The request body, refusing more than ``max_size`` bytes without reading it all."""
    if request.content_length is not None and request.content_length > max_size:
        raise RequestEntityTooLarge(_l("A photo may be at most %(max)s bytes.", max=max_size))
    data = request.stream.read(max_size + 1)
    if len(data) > max_size:
        raise RequestEntityTooLarge(_l("A photo may be at most %(max)s bytes.", max=max_size))
    return data


def receive(token):
    """Store the PUT body under the token's key; returns (key, size)."""
    from ..maintenance.models import TicketPhoto
    from .models import WorkOrderPhoto

    claims = _load(token, UPLOAD_SALT)
    sent_type = (request.mimetype or "").lower()
    if sent_type != claims["content_type"]:
        raise UnsupportedMediaType(_l("This upload must be sent with Content-Type %(type)s.", type=claims["content_type"]))
    data = _read_body(claims["max_size"])
    if not data:
        raise invalid("file", _l("The uploaded file is empty."))
    # Registered evidence must not be swapped under the reviewer's feet by replaying the link.
    if any(db.session.query(model.id).filter_by(object_key=claims["key"]).first() for model in (WorkOrderPhoto, TicketPhoto)):
        raise Conflict(_l("This photo is already registered; ask for a new upload URL to replace it."))
    storage().put(claims["key"], data, claims["content_type"])
    return claims["key"], len(data)


def send(token):
    """The object named by a download token, with its content type."""
    claims = _load(token, DOWNLOAD_SALT)
    store = storage()
    if not store.exists(claims["key"]):
        raise NotFound(_l("This photo is no longer in storage."))
    return store.get(claims["key"]), claims["content_type"]
