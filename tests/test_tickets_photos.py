"""Ticket photos: presigned upload straight to object storage (local folder and moto S3), registration with the
evidence checks (real image, size, EXIF time), any number per ticket, only while it is worked on, own company only."""
import datetime as dt
import urllib.error
import urllib.request
import uuid
from urllib.parse import urlsplit

import boto3
import pytest
from sqlalchemy import select

from insurer_dms.extensions import db
from insurer_dms.maintenance.models import TicketEvent, TicketPhoto
from insurer_dms.storage import S3Storage, make_storage
from tests import install_factories as f
from tests import ticket_factories as tf

STORAGE = "insurer_dms.storage"
TAKEN = dt.datetime(2024, 6, 4, 15, 20, 0, tzinfo=f.LOCAL_TZ)


@pytest.fixture(params=["local", "s3"])
def store(request, app):
    """Each upload test runs against the local folder and against a fresh bucket on the moto S3 server."""
    if request.param == "local":
        yield app.extensions[STORAGE]
        return
    endpoint = request.getfixturevalue("s3_server")
    bucket = f"idms-tickets-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=bucket)
    previous = app.extensions[STORAGE]
    app.extensions[STORAGE] = make_storage({"S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
                                            "AWS_SECRET_ACCESS_KEY": "testing", "S3_REGION": "us-east-1"})
    yield app.extensions[STORAGE]
    app.extensions[STORAGE] = previous


def put_object(app, url, data, content_type):
    """PUT like a phone: to S3 over HTTP, or to the app's own upload target; returns the status."""
    if urlsplit(url).path.startswith("/api/uploads/"):
        return app.test_client().put(urlsplit(url).path, data=data, headers={"Content-Type": content_type}).status_code
    request = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def presign(client, ticket_id, size=1000, content_type="image/jpeg"):
    return client.post(f"/api/tickets/{ticket_id}/photos/presign", json={"content_type": content_type, "size": size})


def upload(app, client, ticket_id, data, content_type="image/jpeg"):
    grant = presign(client, ticket_id, len(data), content_type)
    assert grant.status_code == 200, grant.json
    assert put_object(app, grant.json["url"], data, content_type) == 200
    return client.post(f"/api/tickets/{ticket_id}/photos", json={"key": grant.json["key"]})


def test_contractor_adds_photos_of_the_fault_and_the_repair(app, store, contractor, ops):
    with app.app_context():
        ticket_id = tf.installed_truck_with_ticket("in_progress").id
    first = upload(app, contractor, ticket_id, f.photo_jpeg(TAKEN))
    assert first.status_code == 201, first.json
    assert first.json["object_key"].startswith(f"tickets/{ticket_id}/photo-")
    assert dt.datetime.fromisoformat(first.json["captured_at"]) == TAKEN
    if isinstance(store, S3Storage):
        assert urlsplit(presign(contractor, ticket_id).json["url"]).netloc == urlsplit(store.client.meta.endpoint_url).netloc
    second = upload(app, contractor, ticket_id, f.photo_jpeg(TAKEN + dt.timedelta(minutes=30)))
    assert second.status_code == 201
    detail = ops.get(f"/api/tickets/{ticket_id}").json
    assert [p["id"] for p in detail["photos"]] == [first.json["id"], second.json["id"]]
    assert [e["kind"] for e in detail["events"]].count("photo") == 2
    url = detail["photos"][0]["url"]
    if isinstance(store, S3Storage):
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == f.photo_jpeg(TAKEN)
    else:
        assert app.test_client().get(urlsplit(url).path).data == f.photo_jpeg(TAKEN)


def test_registering_the_same_upload_twice_keeps_one_photo(app, contractor):
    with app.app_context():
        ticket_id = tf.installed_truck_with_ticket("in_progress").id
    first = upload(app, contractor, ticket_id, f.photo_jpeg(TAKEN))
    again = contractor.post(f"/api/tickets/{ticket_id}/photos", json={"key": first.json["object_key"]})
    assert again.status_code == 201 and again.json["id"] == first.json["id"]
    with app.app_context():
        assert db.session.scalar(select(TicketPhoto.id).where(TicketPhoto.ticket_id == ticket_id)) == first.json["id"]
        assert len(db.session.scalars(select(TicketEvent).where(TicketEvent.kind == "photo")).all()) == 1


def test_a_registered_photo_cannot_be_overwritten_through_its_upload_link(app, contractor):
    with app.app_context():
        ticket_id = tf.installed_truck_with_ticket("in_progress").id
    data = f.photo_jpeg(TAKEN)
    grant = presign(contractor, ticket_id, len(data)).json
    assert put_object(app, grant["url"], data, "image/jpeg") == 200
    assert contractor.post(f"/api/tickets/{ticket_id}/photos", json={"key": grant["key"]}).status_code == 201
    assert put_object(app, grant["url"], f.photo_jpeg(TAKEN + dt.timedelta(days=1)), "image/jpeg") == 409


def test_not_an_image_or_too_big_or_a_foreign_key_is_refused(app, ctx, contractor):
    ticket = tf.installed_truck_with_ticket("in_progress")
    other = tf.installed_truck_with_ticket("in_progress")
    fake = b"%PDF-1.4 not a photo" * 10
    resp = upload(app, contractor, ticket.id, fake)
    assert resp.status_code == 422 and "content_type" in resp.json["errors"]
    resp = presign(contractor, ticket.id, size=app.config["PHOTO_MAX_BYTES"] + 1, content_type="image/gif")
    assert resp.status_code == 422 and set(resp.json["errors"]) == {"size", "content_type"}
    grant = presign(contractor, ticket.id).json
    resp = contractor.post(f"/api/tickets/{ticket.id}/photos", json={"key": f"tickets/{other.id}/photo-abc.jpg"})
    assert resp.status_code == 422 and "key" in resp.json["errors"]
    resp = contractor.post(f"/api/tickets/{ticket.id}/photos", json={"key": grant["key"]})  # never uploaded
    assert resp.status_code == 422 and "key" in resp.json["errors"]
    assert db.session.scalars(select(TicketPhoto)).all() == []


def test_photos_stop_when_the_ticket_is_closed_or_cancelled(app, ctx, ops):
    for state in ("closed", "cancelled"):
        ticket = tf.installed_truck_with_ticket(state)
        assert presign(ops, ticket.id).status_code == 409
        assert ops.post(f"/api/tickets/{ticket.id}/photos", json={"key": f"tickets/{ticket.id}/photo-x.jpg"}).status_code == 409


def test_another_companys_ticket_takes_no_photos(app, ctx, other_contractor):
    ticket = tf.installed_truck_with_ticket("in_progress", tf.ALPHA)
    assert presign(other_contractor, ticket.id).status_code == 404
