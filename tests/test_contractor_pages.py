"""The contractor's phone pages: my orders, order detail, appointment, close form with photos (and Chromium at
phone size uploading the photos to the S3-compatible test server)."""
import datetime as dt
import os
import socket
import uuid

import boto3
import pytest
from sqlalchemy import select

from insurer_dms.extensions import db
from insurer_dms.installs import service
from insurer_dms.installs.models import WorkOrder, WorkOrderPhoto
from tests import install_factories as f

needs_close = pytest.mark.skipif(not hasattr(service, "close_order"), reason="installs.service.close_order (WO helper) is not there yet")
INSTALL_DAY = f.INSTALLED_AT.date()


def order_for(company="Alpha Installations", state="assigned"):
    order = f.assigned_order(company)
    if state == "scheduled":
        service.schedule(None, order.id, dt.datetime(2024, 5, 20, 9, 0, tzinfo=f.LOCAL_TZ), "潮州市湘桥区意溪镇物流园3号")
    return order


# ---- my orders -------------------------------------------------------------------------------------------


def test_my_orders_shows_only_my_companys_orders(ctx, contractor):
    mine = order_for()
    theirs = order_for("Beta Installations")
    html = contractor.get("/my/orders").get_data(as_text=True)
    assert f'id="order-{mine.id}"' in html and mine.truck.plate in html
    assert f'id="order-{theirs.id}"' not in html and theirs.truck.plate not in html


def test_my_orders_filter_by_state_and_date(ctx, contractor):
    waiting = order_for()
    booked = order_for(state="scheduled")
    html = contractor.get("/my/orders?state=scheduled").get_data(as_text=True)
    assert f'id="order-{booked.id}"' in html and f'id="order-{waiting.id}"' not in html
    html = contractor.get("/my/orders?date_from=2024-05-20&date_to=2024-05-20").get_data(as_text=True)
    assert f'id="order-{booked.id}"' in html and f'id="order-{waiting.id}"' not in html  # the appointment day
    resp = contractor.get("/my/orders?state=nonsense&date_from=soon")
    assert resp.status_code == 200  # bad filters are reported and ignored, never a 500
    assert "Some filters were ignored" in resp.get_data(as_text=True)


def test_the_nav_offers_my_orders_to_contractors_only(ctx, contractor, ops):
    assert 'id="nav-my-orders"' in contractor.get("/home").get_data(as_text=True)
    assert 'id="nav-my-orders"' not in ops.get("/home").get_data(as_text=True)


def test_staff_and_reviewers_are_refused_the_contractor_pages(ctx, ops, reviewer):
    order = order_for()
    for client in (ops, reviewer):
        assert client.get("/my/orders").status_code == 403
        assert client.get(f"/my/orders/{order.id}").status_code == 403
        assert client.post(f"/my/orders/{order.id}/close", data={}).status_code == 403


# ---- order detail and appointment ------------------------------------------------------------------------


def test_order_detail_shows_the_truck_operator_county_and_a_schedule_form(ctx, contractor):
    order = order_for()
    html = contractor.get(f"/my/orders/{order.id}").get_data(as_text=True)
    assert order.truck.plate in html and order.truck.operator.name in html
    assert "Xiangqiao" in html  # county 445102
    assert 'id="schedule-form"' in html
    assert 'capture="environment"' in html and 'accept="image/jpeg,image/png"' in html
    assert 'id="close-form"' not in html and 'id="close-hint"' in html  # make the appointment first


def test_another_companys_order_is_a_404_page(ctx, other_contractor):
    order = order_for()
    resp = other_contractor.get(f"/my/orders/{order.id}")
    assert resp.status_code == 404
    assert resp.mimetype == "text/html"
    assert other_contractor.post(f"/my/orders/{order.id}/schedule", data={"appointment_at": "2024-05-20T09:00"}).status_code == 404
    assert other_contractor.post(f"/my/orders/{order.id}/close", data={"device_serial": "x"}).status_code == 404
    assert db.session.get(WorkOrder, order.id).state == "assigned"


def test_contractor_schedules_the_appointment_in_china_time(ctx, contractor):
    order = order_for()
    resp = contractor.post(f"/my/orders/{order.id}/schedule", data={"appointment_at": "2024-05-20T09:30", "address": "饶平县黄冈镇"})
    assert resp.status_code == 302
    db.session.expire_all()
    order = db.session.get(WorkOrder, order.id)
    assert order.state == "scheduled"
    assert order.appointment_at == dt.datetime(2024, 5, 20, 1, 30, tzinfo=dt.timezone.utc)
    assert order.address == "饶平县黄冈镇"
    html = contractor.get(f"/my/orders/{order.id}").get_data(as_text=True)
    assert "2024-05-20 09:30" in html and 'id="close-form"' in html


def test_a_bad_appointment_is_shown_next_to_the_field(ctx, contractor):
    order = order_for()
    resp = contractor.post(f"/my/orders/{order.id}/schedule", data={"appointment_at": "next tuesday"})
    assert resp.status_code == 422
    assert 'id="error-appointment_at"' in resp.get_data(as_text=True)


# ---- closing ---------------------------------------------------------------------------------------------


def test_closing_with_empty_fields_shows_each_error_next_to_its_field(ctx, contractor):
    order = order_for(state="scheduled")
    resp = contractor.post(f"/my/orders/{order.id}/close", data={"device_serial": "", "iccid": "", "msisdn": "", "installed_at": "whenever"})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    for field in ("device_serial", "iccid", "msisdn", "installed_at"):
        assert f'id="error-{field}"' in html
    assert 'value="whenever"' in html  # what was typed is kept
    assert db.session.get(WorkOrder, order.id).state == "scheduled"


@needs_close
def test_closing_without_the_photos_is_refused_on_the_page(ctx, contractor):
    order = order_for(state="scheduled")
    device = f.stock_device()
    form = {"device_serial": device.serial, "iccid": f.iccid(), "msisdn": f.msisdn(), "installed_at": "2024-05-20T10:30"}
    resp = contractor.post(f"/my/orders/{order.id}/close", data=form)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "field-error" in html and "plate" in html
    assert f'value="{device.serial}"' in html


@needs_close
def test_a_bad_iccid_is_shown_next_to_its_field(ctx, contractor):
    order = f.with_photos(order_for(state="scheduled"))
    device = f.stock_device()
    form = {"device_serial": device.serial, "iccid": f.bad_iccid(), "msisdn": f.msisdn(), "installed_at": "2024-05-20T10:30"}
    resp = contractor.post(f"/my/orders/{order.id}/close", data=form)
    assert resp.status_code == 422
    assert 'id="error-iccid"' in resp.get_data(as_text=True)


@needs_close
def test_contractor_closes_the_order_from_the_page(ctx, contractor):
    order = f.with_photos(order_for(state="scheduled"))
    device = f.stock_device()
    form = {"device_serial": device.serial, "iccid": f.iccid(), "msisdn": f.msisdn(), "installed_at": "2024-05-20T10:30"}
    resp = contractor.post(f"/my/orders/{order.id}/close", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    db.session.expire_all()
    order = db.session.get(WorkOrder, order.id)
    assert order.state == "installed"
    assert order.installed_at == dt.datetime(2024, 5, 20, 2, 30, tzinfo=dt.timezone.utc)
    assert order.device_id == device.id
    html = contractor.get(f"/my/orders/{order.id}").get_data(as_text=True)
    assert 'data-state="installed"' in html and device.serial in html and 'id="close-form"' not in html


@needs_close
def test_photos_from_another_day_put_the_closed_order_up_for_review(ctx, contractor):
    order = order_for(state="scheduled")
    f.with_photos(order, f.INSTALLED_AT, kinds=["device_mounted", "driver_camera"])
    f.with_photos(order, f.INSTALLED_AT - dt.timedelta(days=2), kinds=["plate"])
    form = {"device_serial": f.stock_device().serial, "iccid": f.iccid(), "msisdn": f.msisdn(), "installed_at": "2024-05-20T10:30"}
    assert contractor.post(f"/my/orders/{order.id}/close", data=form).status_code == 302
    db.session.expire_all()
    order = db.session.get(WorkOrder, order.id)
    assert order.state == "installed" and order.needs_review is True
    assert "plate (2024-05-18)" in order.review_note
    assert [p.kind for p in order.photos if p.other_day] == ["plate"]
    assert 'id="review-note"' in contractor.get(f"/my/orders/{order.id}").get_data(as_text=True)


# ---- Chromium at phone size, photos to the S3-compatible server ----------------------------------------------


@pytest.fixture(scope="module")
def s3_bucket(s3_server):
    """A bucket whose CORS lets the browser PUT from the app's origin (deployment configuration in production)."""
    bucket = f"idms-pages-{uuid.uuid4().hex[:10]}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=bucket)
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["*"], "AllowedMethods": ["PUT", "GET"], "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600}
    ]})
    return bucket


@pytest.fixture(scope="module")
def s3_app(app, s3_server, s3_bucket):
    """The app configured with S3 (as in production), on the test database."""
    from insurer_dms import create_app

    overrides = {k: app.config[k] for k in ("TESTING", "SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "REDIS_URL", "OBJECTS_DIR", "PASSWORD_HASH_METHOD")}
    s3 = create_app({**overrides, "S3_BUCKET": s3_bucket, "S3_ENDPOINT_URL": s3_server, "S3_REGION": "us-east-1",
                     "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    # SigV4 URLs: moto, like S3, checks the signature on the browser's CORS preflight.
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in s3.extensions["insurer_dms.storage"].presigned_put("probe.jpg", "image/jpeg")
    with s3.app_context():
        engine = db.engine
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))  # the server process gets its own connections
    return s3


@pytest.fixture(scope="module")
def live_server(s3_app, pytestconfig):
    """This module's browser tests run against the S3-configured app (login_as uses this fixture)."""
    from pytest_flask.live_server import LiveServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = LiveServer(s3_app, "127.0.0.1", port, pytestconfig.getvalue("live_server_wait"), pytestconfig.getvalue("live_server_clean_stop"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(browser):
    """A phone: 390 x 844 CSS pixels, touch, mobile layout."""
    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=3)
    phone = context.new_page()
    phone.set_default_timeout(15000)
    yield phone
    context.close()


def fits_the_screen(phone):
    return phone.evaluate("document.documentElement.scrollWidth") <= 390


@needs_close
def test_contractor_closes_an_order_on_a_phone_with_photos_uploaded_to_s3(app, s3_app, login_as, tmp_path):
    with app.app_context():
        order = order_for()
        order_id, plate = order.id, order.truck.plate
        serial = f.stock_device().serial
        other = order_for("Beta Installations")
        other_id = other.id
    photos = {}
    for i, kind in enumerate(("device_mounted", "driver_camera", "plate")):
        photos[kind] = tmp_path / f"{kind}.jpg"
        photos[kind].write_bytes(f.photo_jpeg(f.INSTALLED_AT - dt.timedelta(minutes=20 - i), size=(640, 480)))

    phone = login_as("contractor")
    phone.click("#nav-my-orders")
    card = phone.locator(f"#order-{order_id}")
    assert plate in card.inner_text()
    assert phone.locator(f"#order-{other_id}").count() == 0
    assert card.bounding_box()["width"] <= 390 and fits_the_screen(phone)

    card.click()
    assert phone.inner_text("#order-plate") == plate
    phone.fill("#appointment_at", "2024-05-20T09:00")
    phone.fill("#address", "潮州市湘桥区意溪镇物流园3号")
    phone.click("#schedule-submit")
    phone.wait_for_selector('#order-state[data-state="scheduled"]')
    assert fits_the_screen(phone)

    for kind, path in photos.items():
        phone.set_input_files(f"#photo-input-{kind}", str(path))
        phone.wait_for_selector(f'#photo-status-{kind}[data-done="yes"]', timeout=20000)
        assert "Uploaded" in phone.inner_text(f"#photo-status-{kind}")

    phone.fill("#device_serial", serial)
    phone.fill("#iccid", f.iccid())
    phone.fill("#msisdn", f.msisdn())
    phone.fill("#installed_at", "2024-05-20T10:30")
    phone.click("#close-submit")
    phone.wait_for_selector('#order-state[data-state="installed"]')
    assert serial in phone.inner_text("#order-device")
    assert fits_the_screen(phone)

    with s3_app.app_context():
        from insurer_dms.storage import storage

        order = db.session.get(WorkOrder, order_id)
        assert order.state == "installed" and order.needs_review is False
        stored = db.session.scalars(select(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == order_id)).all()
        assert sorted(p.kind for p in stored) == ["device_mounted", "driver_camera", "plate"]
        for p in stored:
            assert storage().exists(p.object_key)  # in the S3 bucket, uploaded by the browser itself
            assert p.captured_at.astimezone(f.LOCAL_TZ).date() == INSTALL_DAY


def test_a_file_that_is_not_a_photo_shows_an_error_on_the_phone(app, login_as, tmp_path):
    with app.app_context():
        order_id = order_for().id
    fake = tmp_path / "fake.jpg"
    fake.write_bytes(b"not really a jpeg" * 50)

    phone = login_as("contractor")
    phone.goto(phone.url.replace("/home", f"/my/orders/{order_id}"))
    phone.set_input_files("#photo-input-plate", str(fake))
    phone.wait_for_selector("#photo-status-plate.error")
    assert "not a JPEG or PNG" in phone.inner_text("#photo-status-plate")
    with app.app_context():
        assert db.session.query(WorkOrderPhoto).count() == 0


def test_another_companys_order_is_a_404_page_on_the_phone(app, login_as):
    with app.app_context():
        order_id = order_for("Beta Installations").id
    phone = login_as("contractor")
    resp = phone.goto(phone.url.replace("/home", f"/my/orders/{order_id}"))
    assert resp.status == 404
