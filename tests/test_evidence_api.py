"""Evidence photos through the API: presigned upload straight to storage (moto S3 and the local folder), registration
with real-image and size checks, EXIF capture times, and who may do it."""
import datetime as dt
import io
import urllib.error
import urllib.request
import uuid
from urllib.parse import urlsplit

import boto3
import pytest

from insurer_dms.extensions import db
from insurer_dms.installs.models import WorkOrder, WorkOrderPhoto
from insurer_dms.storage import S3Storage, make_storage
from tests import install_factories as f

STORAGE = "insurer_dms.storage"
TAKEN = dt.datetime(2024, 5, 20, 9, 15, 30, tzinfo=f.LOCAL_TZ)


@pytest.fixture
def s3_store(app, s3_server):
    """The app's object store swapped for a fresh bucket on the moto server (real boto3 over HTTP)."""
    bucket = f"idms-evidence-{uuid.uuid4().hex[:10]}"
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "S3_REGION": "us-east-1"}
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=bucket)
    store = make_storage({"S3_BUCKET": bucket, "S3_ENDPOINT_URL": s3_server, **creds})
    previous = app.extensions[STORAGE]
    app.extensions[STORAGE] = store
    yield store
    app.extensions[STORAGE] = previous


@pytest.fixture(params=["local", "s3"])
def store(request, app):
    """Each upload test runs against the local folder and against S3."""
    if request.param == "s3":
        return request.getfixturevalue("s3_store")
    return app.extensions[STORAGE]


@pytest.fixture
def order(ctx, contractor):
    """An order assigned to the contractor's company (Alpha Installations)."""
    return f.assigned_order("Alpha Installations")


def put_object(app, url, data, content_type):
    """PUT like a phone does: to S3 over HTTP, or to our own upload target; returns the status."""
    if urlsplit(url).path.startswith("/api/uploads/"):
        parts = urlsplit(url)
        return app.test_client().put(parts.path, data=data, headers={"Content-Type": content_type}).status_code
    request = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def presign(client, order_id, kind="device_mounted", content_type="image/jpeg", size=1000):
    return client.post(f"/api/work-orders/{order_id}/photos/presign", json={"kind": kind, "content_type": content_type, "size": size})


def upload(app, client, order_id, kind, data, content_type="image/jpeg"):
    """Presign, PUT and register one photo; returns the registration response."""
    grant = presign(client, order_id, kind, content_type, len(data))
    assert grant.status_code == 200, grant.json
    assert put_object(app, grant.json["url"], data, grant.json["headers"]["Content-Type"]) == 200
    return client.post(f"/api/work-orders/{order_id}/photos", json={"kind": kind, "key": grant.json["key"]})


def png_bytes(exif_time=None):
    from PIL import Image

    image = Image.new("RGB", (32, 24), (200, 30, 30))
    out = io.BytesIO()
    if exif_time:
        exif = Image.Exif()
        exif[0x010F] = "Xiaomi"  # Make (Pillow writes no EXIF block for a PNG whose first directory is empty)
        exif.get_ifd(0x8769)[0x9003] = exif_time
        image.save(out, format="PNG", exif=exif)
    else:
        image.save(out, format="PNG")
    return out.getvalue()


def jpeg_with(original=None, offset=None):
    """JPEG bytes with the given raw EXIF DateTimeOriginal / OffsetTimeOriginal strings."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "Huawei"  # Make
    if original is not None:
        exif.get_ifd(0x8769)[0x9003] = original
    if offset is not None:
        exif.get_ifd(0x8769)[0x9011] = offset
    out = io.BytesIO()
    Image.new("RGB", (16, 16)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


# ---- the happy path, on both backends --------------------------------------------------------------------


def test_contractor_uploads_a_photo_straight_to_storage_and_its_exif_time_is_recorded(app, store, contractor, order):
    data = f.photo_jpeg(TAKEN)
    grant = presign(contractor, order.id, "plate", "image/jpeg", len(data))
    assert grant.status_code == 200
    assert grant.json["method"] == "PUT"
    assert grant.json["headers"] == {"Content-Type": "image/jpeg"}
    assert grant.json["key"].startswith(f"work-orders/{order.id}/plate-") and grant.json["key"].endswith(".jpg")
    if isinstance(store, S3Storage):
        assert grant.json["url"].startswith(store.client.meta.endpoint_url)  # straight to S3, not through us

    assert put_object(app, grant.json["url"], data, "image/jpeg") == 200
    assert store.get(grant.json["key"]) == data

    resp = contractor.post(f"/api/work-orders/{order.id}/photos", json={"kind": "plate", "key": grant.json["key"]})
    assert resp.status_code == 201, resp.json
    assert resp.json["kind"] == "plate"
    assert resp.json["content_type"] == "image/jpeg"
    assert resp.json["size_bytes"] == len(data)
    assert dt.datetime.fromisoformat(resp.json["captured_at"]) == TAKEN  # 09:15:30 +08:00 == 01:15:30 UTC
    assert resp.json["captured_at"].endswith("+00:00")

    listing = contractor.get(f"/api/work-orders/{order.id}/photos")
    assert listing.status_code == 200
    assert listing.json["missing"] == ["device_mounted", "driver_camera"]
    [photo] = listing.json["items"]
    if isinstance(store, S3Storage):
        with urllib.request.urlopen(photo["url"], timeout=10) as response:
            assert response.read() == data
    else:
        downloaded = app.test_client().get(urlsplit(photo["url"]).path)
        assert downloaded.status_code == 200 and downloaded.data == data and downloaded.mimetype == "image/jpeg"

    with app.app_context():
        from insurer_dms.activity import history

        assert [a.action for a in history("work_order_photo", photo["id"])] == ["create"]


def test_ops_can_upload_all_three_photos_and_nothing_is_missing(app, store, ops, order):
    for kind in ("device_mounted", "driver_camera", "plate"):
        assert upload(app, ops, order.id, kind, f.photo_jpeg(TAKEN)).status_code == 201
    resp = ops.get(f"/api/work-orders/{order.id}/photos")
    assert resp.json["missing"] == []
    assert [p["kind"] for p in resp.json["items"]] == ["device_mounted", "driver_camera", "plate"]


def test_a_png_without_exif_is_accepted_without_capture_time(app, store, contractor, order):
    resp = upload(app, contractor, order.id, "driver_camera", png_bytes(), "image/png")
    assert resp.status_code == 201, resp.json
    assert resp.json["content_type"] == "image/png"
    assert resp.json["object_key"].endswith(".png")
    assert resp.json["captured_at"] is None


def test_a_png_with_exif_gets_its_capture_time(app, store, contractor, order):
    resp = upload(app, contractor, order.id, "driver_camera", png_bytes("2024:05:20 21:00:00"), "image/png")
    assert resp.status_code == 201, resp.json
    assert dt.datetime.fromisoformat(resp.json["captured_at"]) == dt.datetime(2024, 5, 20, 13, 0, tzinfo=dt.timezone.utc)


def test_uploading_a_kind_again_replaces_the_earlier_photo(app, store, contractor, order):
    first = upload(app, contractor, order.id, "plate", f.photo_jpeg(TAKEN))
    second = upload(app, contractor, order.id, "plate", f.photo_jpeg(TAKEN + dt.timedelta(hours=1)))
    assert second.status_code == 201
    assert second.json["id"] == first.json["id"]
    assert second.json["object_key"] != first.json["object_key"]
    assert not store.exists(first.json["object_key"])  # the replaced object is gone
    assert store.exists(second.json["object_key"])
    with app.app_context():
        assert db.session.query(WorkOrderPhoto).count() == 1
        from insurer_dms.activity import history

        assert [a.action for a in history("work_order_photo", first.json["id"])] == ["create", "replace"]


# ---- EXIF times ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "original, offset, expected",
    [
        ("2024:05:20 09:00:00", None, dt.datetime(2024, 5, 20, 1, 0, tzinfo=dt.timezone.utc)),  # no offset: Asia/Shanghai
        ("2024:05:20 09:00:00", "+02:00", dt.datetime(2024, 5, 20, 7, 0, tzinfo=dt.timezone.utc)),
        ("2024:05:20 09:00:00", "-05:00", dt.datetime(2024, 5, 20, 14, 0, tzinfo=dt.timezone.utc)),
        ("0000:00:00 00:00:00", None, None),  # camera clock never set
        ("yesterday", None, None),
        (None, None, None),
    ],
)
def test_capture_time_comes_from_exif_datetime_original_and_its_offset(original, offset, expected):
    from insurer_dms.installs.evidence import exif_captured_at

    assert exif_captured_at(jpeg_with(original, offset)) == expected


# ---- refusals --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "device_mounted", "content_type": "image/gif", "size": 1000}, "content_type"),
        ({"kind": "device_mounted", "content_type": "application/pdf", "size": 1000}, "content_type"),
        ({"kind": "device_mounted", "content_type": "image/jpeg", "size": 0}, "size"),
        ({"kind": "device_mounted", "content_type": "image/jpeg", "size": 10 * 1024 * 1024 + 1}, "size"),
        ({"kind": "selfie", "content_type": "image/jpeg", "size": 1000}, "kind"),
        ({"content_type": "image/jpeg", "size": 1000}, "kind"),
    ],
)
def test_presign_refuses_wrong_type_size_or_kind_with_the_field(contractor, order, body, field):
    resp = contractor.post(f"/api/work-orders/{order.id}/photos/presign", json=body)
    assert resp.status_code == 422
    assert field in resp.json["errors"]


def test_registering_without_uploading_is_refused(app, store, contractor, order):
    grant = presign(contractor, order.id, "plate")
    resp = contractor.post(f"/api/work-orders/{order.id}/photos", json={"kind": "plate", "key": grant.json["key"]})
    assert resp.status_code == 422
    assert "key" in resp.json["errors"]
    with app.app_context():
        assert db.session.query(WorkOrderPhoto).count() == 0


def test_bytes_that_are_not_an_image_are_refused_and_deleted(app, store, contractor, order):
    fake = b"%PDF-1.7 this is not a photo" * 20
    grant = presign(contractor, order.id, "plate", "image/jpeg", len(fake))
    assert put_object(app, grant.json["url"], fake, "image/jpeg") == 200  # storage cannot tell; registration can
    resp = contractor.post(f"/api/work-orders/{order.id}/photos", json={"kind": "plate", "key": grant.json["key"]})
    assert resp.status_code == 422
    assert "content_type" in resp.json["errors"]
    assert not store.exists(grant.json["key"])


def test_a_jpeg_header_on_garbage_is_still_refused(app, store, contractor, order):
    fake = b"\xff\xd8\xff\xe0" + b"garbage" * 50
    resp = upload(app, contractor, order.id, "plate", fake)
    assert resp.status_code == 422 and "content_type" in resp.json["errors"]


def test_a_png_sent_as_a_jpeg_upload_is_refused(app, store, contractor, order):
    resp = upload(app, contractor, order.id, "plate", png_bytes(), "image/jpeg")
    assert resp.status_code == 422 and "content_type" in resp.json["errors"]


def test_an_object_larger_than_the_limit_is_refused_at_registration(app, s3_store, contractor, order, monkeypatch):
    # A presigned S3 PUT cannot cap the size, so registration measures the stored object.
    big = f.photo_jpeg(TAKEN, size=(400, 300))
    grant = presign(contractor, order.id, "plate", "image/jpeg", 1000)
    assert put_object(app, grant.json["url"], big, "image/jpeg") == 200
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", len(big) - 1)
    resp = contractor.post(f"/api/work-orders/{order.id}/photos", json={"kind": "plate", "key": grant.json["key"]})
    assert resp.status_code == 422
    assert "size" in resp.json["errors"]
    assert not s3_store.exists(grant.json["key"])


def test_an_empty_object_is_refused_at_registration(app, s3_store, contractor, order):
    grant = presign(contractor, order.id, "plate", "image/jpeg", 10)
    s3_store.put(grant.json["key"], b"", "image/jpeg")
    resp = contractor.post(f"/api/work-orders/{order.id}/photos", json={"kind": "plate", "key": grant.json["key"]})
    assert resp.status_code == 422 and "size" in resp.json["errors"]


def test_a_key_of_another_order_or_kind_cannot_be_registered(app, store, contractor, order, ctx):
    other = f.assigned_order("Alpha Installations")
    grant = presign(contractor, other.id, "plate")
    assert put_object(app, grant.json["url"], f.photo_jpeg(TAKEN), "image/jpeg") == 200
    wrong_order = contractor.post(f"/api/work-orders/{order.id}/photos", json={"kind": "plate", "key": grant.json["key"]})
    wrong_kind = contractor.post(f"/api/work-orders/{other.id}/photos", json={"kind": "driver_camera", "key": grant.json["key"]})
    assert wrong_order.status_code == 422 and "key" in wrong_order.json["errors"]
    assert wrong_kind.status_code == 422 and "key" in wrong_kind.json["errors"]


def test_photos_only_while_the_order_is_being_worked_on(app, ops, ctx):
    order = f.open_order()  # not yet assigned
    assert presign(ops, order.id).status_code == 409
    resp = ops.post(f"/api/work-orders/{order.id}/photos", json={"kind": "plate", "key": f"work-orders/{order.id}/plate-x.jpg"})
    assert resp.status_code == 409
    assert ops.get(f"/api/work-orders/{order.id}/photos").status_code == 200  # reading is fine in any state


# ---- the local upload target ------------------------------------------------------------------------------


def test_local_upload_refuses_a_forged_or_expired_token(app, contractor, order, monkeypatch):
    client = app.test_client()
    assert client.put("/api/uploads/not-a-token", data=b"x", headers={"Content-Type": "image/jpeg"}).status_code == 403
    grant = presign(contractor, order.id)
    path = urlsplit(grant.json["url"]).path
    tampered = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    assert client.put(tampered, data=b"x", headers={"Content-Type": "image/jpeg"}).status_code == 403
    monkeypatch.setitem(app.config, "UPLOAD_URL_SECONDS", -1)  # every token is now past its age
    resp = client.put(path, data=f.photo_jpeg(TAKEN), headers={"Content-Type": "image/jpeg"})
    assert resp.status_code == 403
    assert resp.json["code"] == 403


def test_local_upload_refuses_another_content_type_oversize_and_empty_bodies(app, contractor, order, monkeypatch):
    client = app.test_client()
    grant = presign(contractor, order.id)
    path = urlsplit(grant.json["url"]).path
    assert client.put(path, data=b"x", headers={"Content-Type": "image/png"}).status_code == 415
    assert client.put(path, data=b"x").status_code == 415
    assert client.put(path, data=b"", headers={"Content-Type": "image/jpeg"}).status_code == 422
    monkeypatch.setitem(app.config, "PHOTO_MAX_BYTES", 100)
    small_grant = presign(contractor, order.id, size=50)
    resp = client.put(urlsplit(small_grant.json["url"]).path, data=b"\xff" * 101, headers={"Content-Type": "image/jpeg"})
    assert resp.status_code == 413
    assert resp.json["code"] == 413


def test_a_registered_photo_cannot_be_overwritten_by_replaying_its_upload_link(app, contractor, order):
    data = f.photo_jpeg(TAKEN)
    grant = presign(contractor, order.id, "plate", "image/jpeg", len(data))
    assert put_object(app, grant.json["url"], data, "image/jpeg") == 200
    assert contractor.post(f"/api/work-orders/{order.id}/photos", json={"kind": "plate", "key": grant.json["key"]}).status_code == 201
    assert put_object(app, grant.json["url"], f.photo_jpeg(TAKEN - dt.timedelta(days=3)), "image/jpeg") == 409


def test_the_upload_target_is_public_in_the_openapi_document(anon):
    spec = anon.get("/api/openapi.json").json
    item = spec["paths"]["/api/uploads/{token}"]
    assert item["put"]["security"] == [] and item["get"]["security"] == []
    assert "image/jpeg" in item["put"]["requestBody"]["content"]
    for path in ("/api/work-orders/{order_id}/photos/presign", "/api/work-orders/{order_id}/photos"):
        assert path in spec["paths"]


# ---- the rules close_order relies on ---------------------------------------------------------------------


def test_a_photo_taken_on_another_day_is_flagged_for_review(ctx):
    from insurer_dms.installs.evidence import flag_other_day_photos

    order = f.assigned_order()
    f.with_photos(order, TAKEN, kinds=["device_mounted", "driver_camera"])
    f.with_photos(order, dt.datetime(2024, 5, 19, 23, 50, tzinfo=f.LOCAL_TZ), kinds=["plate"])  # the evening before
    assert flag_other_day_photos(order, dt.date(2024, 5, 20)) == ["plate"]
    db.session.commit()
    order = db.session.get(WorkOrder, order.id)
    assert order.needs_review is True
    assert "another day" in order.review_note and "plate (2024-05-19)" in order.review_note
    assert {p.kind: p.other_day for p in order.photos} == {"device_mounted": False, "driver_camera": False, "plate": True}


def test_the_install_day_is_counted_in_china_time(ctx):
    from insurer_dms.installs.evidence import flag_other_day_photos

    order = f.assigned_order()
    # 2024-05-19 17:30 UTC is 01:30 on 2024-05-20 in Chaozhou: the same day as the install.
    f.with_photos(order, dt.datetime(2024, 5, 19, 17, 30, tzinfo=dt.timezone.utc))
    assert flag_other_day_photos(order, dt.date(2024, 5, 20)) == []
    assert order.needs_review is False


def test_photos_without_capture_time_are_flagged_with_their_own_note(ctx):
    from insurer_dms.installs.evidence import flag_other_day_photos

    order = f.assigned_order()
    f.with_photos(order, TAKEN)
    order.photos[0].captured_at = None
    assert flag_other_day_photos(order, dt.date(2024, 5, 20)) == ["device_mounted"]
    assert order.needs_review is True
    assert "without an EXIF capture time: device_mounted" in order.review_note
    assert "another day" not in order.review_note


def test_a_photo_whose_object_vanished_counts_as_missing(ctx):
    from insurer_dms.installs.evidence import missing_photos
    from insurer_dms.storage import storage

    order = f.assigned_order()
    assert missing_photos(order) == ["device_mounted", "driver_camera", "plate"]
    f.with_photos(order, TAKEN)
    assert missing_photos(order) == []
    storage().delete(order.photos[1].object_key)
    assert missing_photos(order) == ["driver_camera"]


# ---- who may --------------------------------------------------------------------------------------------


def test_another_companys_contractor_gets_404_for_every_photo_endpoint(app, other_contractor, order):
    base = f"/api/work-orders/{order.id}/photos"
    assert presign(other_contractor, order.id).status_code == 404
    assert other_contractor.post(base, json={"kind": "plate", "key": f"work-orders/{order.id}/plate-x.jpg"}).status_code == 404
    assert other_contractor.get(base).status_code == 404


def test_reviewers_get_403_and_anonymous_callers_401(app, reviewer, anon, order):
    base = f"/api/work-orders/{order.id}/photos"
    body = {"kind": "plate", "content_type": "image/jpeg", "size": 10}
    assert reviewer.post(base + "/presign", json=body).status_code == 403
    assert reviewer.post(base, json={"kind": "plate", "key": "k"}).status_code == 403
    assert reviewer.get(base).status_code == 403
    assert anon.post(base + "/presign", json=body).status_code == 401
    assert anon.post(base, json={"kind": "plate", "key": "k"}).status_code == 401
    assert anon.get(base).status_code == 401


def test_an_unknown_order_is_404(ops):
    assert presign(ops, 999999).status_code == 404
    assert ops.get("/api/work-orders/999999/photos").status_code == 404
