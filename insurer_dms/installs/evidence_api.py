"""REST API for work-order evidence photos: presigned upload, registration, listing; the local upload target."""
import marshmallow as ma
from flask import Response, url_for
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint

from .. import fields
from ..auth.access import CONTRACTOR, OPS, REVIEWER, public, require
from . import evidence, evidence_view, uploads
from .models import PHOTO_KINDS

blp = Blueprint("installs_evidence_api", __name__, url_prefix="/api", description="Evidence photos of work orders: presigned uploads and their registration")

IMAGE_BODY = {"schema": {"type": "string", "format": "binary"}}


class PhotoPresignInSchema(ma.Schema):
    kind = fields.String(required=True, validate=ma.validate.OneOf(PHOTO_KINDS))
    content_type = fields.String(required=True, metadata={"example": "image/jpeg"})
    size = fields.Integer(required=True, metadata={"description": "Bytes of the file to upload."})


class PhotoPresignSchema(ma.Schema):
    url = fields.String(metadata={"description": "PUT the file here, with exactly the headers below."})
    method = fields.String()
    headers = fields.Dict(keys=fields.String(), values=fields.String())
    key = fields.String(metadata={"description": "Register the photo with this key after the upload."})
    expires_in = fields.Integer(metadata={"description": "Seconds the URL stays valid."})


class PhotoRegisterInSchema(ma.Schema):
    kind = fields.String(required=True, validate=ma.validate.OneOf(PHOTO_KINDS))
    key = fields.String(required=True, validate=ma.validate.Length(max=300))


class EvidencePhotoSchema(ma.Schema):
    id = fields.Id()
    work_order_id = fields.Id()
    kind = fields.String()
    object_key = fields.String()
    content_type = fields.String()
    size_bytes = fields.Integer()
    captured_at = fields.DateTime(allow_none=True, metadata={"description": "From EXIF DateTimeOriginal (UTC)."})
    other_day = fields.Boolean()
    uploaded_at = fields.DateTime()
    url = fields.Method("_url", metadata={"description": "Short-lived download URL."})
    view_url = fields.Method("_view_url", metadata={"description": "The full-size photo through the app (access checked on each view)."})
    thumbnail_url = fields.Method("_thumbnail_url", metadata={"description": "Its thumbnail (JPEG, 320 px long side), likewise."})
    captured_local = fields.Method("_captured_local", allow_none=True,
                                   metadata={"description": "The capture time as pages show it (Asia/Shanghai, yyyy-MM-dd HH:mm)."})
    uploaded_local = fields.Method("_uploaded_local", metadata={"description": "The upload time as pages show it (Asia/Shanghai)."})

    def _url(self, photo):
        return evidence.download_url(photo)

    def _view_url(self, photo):
        return url_for("installs_evidence_api.PhotoFile", order_id=photo.work_order_id, photo_id=photo.id)

    def _thumbnail_url(self, photo):
        return url_for("installs_evidence_api.PhotoThumbnail", order_id=photo.work_order_id, photo_id=photo.id)

    def _captured_local(self, photo):
        return evidence_view.local_time(photo.captured_at)

    def _uploaded_local(self, photo):
        return evidence_view.local_time(photo.uploaded_at)


class EvidencePhotoListSchema(ma.Schema):
    work_order_id = fields.Id()
    needs_review = fields.Boolean()
    review_note = fields.String(allow_none=True)
    missing = fields.List(fields.String(), metadata={"description": "Required kinds not yet uploaded."})
    items = fields.List(fields.Nested(EvidencePhotoSchema))


class UploadReceiptSchema(ma.Schema):
    key = fields.String()
    size = fields.Integer()


@blp.route("/work-orders/<int:order_id>/photos/presign")
class PhotoPresign(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.arguments(PhotoPresignInSchema)
    @blp.response(200, PhotoPresignSchema)
    @blp.alt_response(409, description="The order is not assigned, scheduled or in rework.")
    def post(self, data, order_id):
        """Get a short-lived URL to PUT one photo (JPEG/PNG, size-limited) straight to object storage."""
        return evidence.presign_upload(current_user, order_id, data["kind"], data["content_type"], data["size"])


@blp.route("/work-orders/<int:order_id>/photos")
class Photos(MethodView):
    @require(OPS, CONTRACTOR)
    @blp.response(200, EvidencePhotoListSchema)
    def get(self, order_id):
        """The order's evidence photos, each with a short-lived download URL."""
        order, items = evidence.photos(current_user, order_id)
        return {"work_order_id": order.id, "needs_review": order.needs_review, "review_note": order.review_note,
                "missing": evidence.missing_photos(order), "items": items}

    @require(OPS, CONTRACTOR)
    @blp.arguments(PhotoRegisterInSchema)
    @blp.response(201, EvidencePhotoSchema)
    @blp.alt_response(409, description="The order is not assigned, scheduled or in rework.")
    def post(self, data, order_id):
        """Register an uploaded photo: the object must exist, be a real JPEG/PNG within the size limit."""
        return evidence.register_photo(current_user, order_id, data["kind"], data["key"])


@blp.route("/work-orders/<int:order_id>/photos/<int:photo_id>")
class PhotoFile(MethodView):
    @require(OPS, CONTRACTOR, REVIEWER)
    @blp.doc(responses={"200": {"description": "The photo, inline (local storage).", "content": {"image/jpeg": IMAGE_BODY, "image/png": IMAGE_BODY}},
                        "302": {"description": "To a short-lived presigned URL of the photo (S3)."}})
    @blp.alt_response(404, description="No such photo, or not one the caller may see.")
    def get(self, order_id, photo_id):
        """View one evidence photo full size: ops any order, a contractor its company's, a reviewer a published finding's truck."""
        return evidence_view.photo_response(evidence_view.photo_for_viewing(current_user, order_id, photo_id))


@blp.route("/work-orders/<int:order_id>/photos/<int:photo_id>/thumbnail")
class PhotoThumbnail(MethodView):
    @require(OPS, CONTRACTOR, REVIEWER)
    @blp.doc(responses={"200": {"description": "The thumbnail, JPEG (local storage).", "content": {"image/jpeg": IMAGE_BODY}},
                        "302": {"description": "To a short-lived presigned URL of the thumbnail (S3)."}})
    @blp.alt_response(404, description="No such photo, or not one the caller may see.")
    def get(self, order_id, photo_id):
        """The photo's thumbnail (made once, stored beside it, EXIF orientation applied); the same access as the photo."""
        return evidence_view.photo_response(evidence_view.photo_for_viewing(current_user, order_id, photo_id), thumbnail=True)


@blp.route("/uploads/<token>")
class ObjectTransfer(MethodView):
    @public
    @blp.doc(security=[], responses={"200": {"description": "The photo.", "content": {"image/jpeg": IMAGE_BODY, "image/png": IMAGE_BODY}}})
    def get(self, token):
        """Download a photo through a signed link (local storage; the token is the credential)."""
        data, content_type = uploads.send(token)
        return Response(data, mimetype=content_type, headers={"Cache-Control": "private, max-age=60"})

    @public
    @blp.doc(security=[], requestBody={"required": True, "content": {"image/jpeg": IMAGE_BODY, "image/png": IMAGE_BODY}})
    @blp.response(200, UploadReceiptSchema)
    @blp.alt_response(403, description="The token is invalid or expired.")
    @blp.alt_response(413, description="Larger than the token allows.")
    @blp.alt_response(415, description="Not the Content-Type the token was issued for.")
    def put(self, token):
        """Upload target of a presigned URL when no S3 is configured (local storage; the token is the credential)."""
        key, size = uploads.receive(token)
        return {"key": key, "size": size}
