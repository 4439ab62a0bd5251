"""Seeing evidence photos: thumbnails made once beside the original with EXIF orientation applied (local folder and
moto S3), the full-size view's headers, who may see which photo (ops, the order's company, a reviewer for a truck in a
published finding only), the pages that show them; in Chromium: ops open a photo, a technician on a phone sees the
thumbnail right after uploading, a reviewer sees a finding's truck's evidence and nothing of another truck."""
import datetime as dt
import io
import re
import socket
import urllib.request
from urllib.parse import urlsplit

import pytest
from PIL import Image

from insurer_dms.extensions import db
from insurer_dms.installs import evidence
from insurer_dms.installs.models import WorkOrderPhoto
from insurer_dms.storage import S3Storage
from tests import audit_query_factories as aq
from tests import install_factories as f
from tests.test_contractor_pages import s3_app, s3_bucket  # noqa: F401  (module fixtures: the app on S3)
from tests.test_evidence_api import put_object, s3_store, store, upload  # noqa: F401  (fixtures and helpers)

TAKEN = dt.datetime(2024, 5, 20, 9, 15, tzinfo=f.LOCAL_TZ)
REVIEWER_EMAIL, OPS_EMAIL, ALPHA_EMAIL = "reviewer@nfra.example.com", "ops@example.com", "tech@alpha.example.com"


def rotated_jpeg(size=(640, 480), taken=TAKEN):
    """A landscape JPEG whose EXIF says "rotate 90° clockwise to view" (Orientation 6), as phones held upright write."""
    image = Image.new("RGB", size, (200, 40, 40))
    image.paste((40, 40, 200), (0, 0, size[0] // 4, size[1]))  # a blue band on the left edge: on top once rotated
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif.get_ifd(0x8769)[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue()


def fetch(app, url):
    """Follow an evidence URL as a browser would: our own answer, or the presigned S3 URL it redirects to."""
    return app.test_client().get(urlsplit(url).path) if urlsplit(url).path.startswith("/api/") else urllib.request.urlopen(url, timeout=10)


def installed_on(truck, kinds=None):
    """An Alpha order that installed a device on ``truck`` (audited trucks have no policy in force today), with photos."""
    return f.with_photos(f.installed_directly(truck=truck), kinds=kinds)


@pytest.fixture
def order(ctx, contractor):
    return f.assigned_order("Alpha Installations")


# ---- thumbnails ---------------------------------------------------------------------------------------------


def test_registration_makes_a_rotated_thumbnail_once_beside_the_original(app, store, contractor, order, monkeypatch):
    resp = upload(app, contractor, order.id, "plate", rotated_jpeg())
    assert resp.status_code == 201, resp.json
    key = resp.json["object_key"]
    thumb_key = key + ".thumb.jpg"
    assert store.exists(thumb_key)  # stored beside the original, in the same store
    with Image.open(io.BytesIO(store.get(thumb_key))) as thumb:
        assert thumb.format == "JPEG"
        assert thumb.size == (240, 320)  # 640 x 480 turned upright, long side 320
        assert thumb.getpixel((120, 10))[2] > 150 and thumb.getpixel((120, 310))[0] > 150  # blue band now on top
    assert store.get(key) == rotated_jpeg()  # the original is kept as it was sent

    writes = []
    real_put = store.put
    monkeypatch.setattr(store, "put", lambda *a, **kw: writes.append(a[0]) or real_put(*a, **kw))
    assert evidence.ensure_thumbnail(key) == thumb_key
    for _ in range(2):
        shown = contractor.get(resp.json["thumbnail_url"])
        assert shown.status_code in (200, 302)
    assert writes == []  # made once, at registration; viewing never writes it again


def test_a_thumbnail_missing_is_made_on_first_view_and_written_once(app, store, ops, order, monkeypatch):
    resp = upload(app, ops, order.id, "plate", rotated_jpeg())
    key = resp.json["object_key"]
    store.delete(key + ".thumb.jpg")  # a photo registered before thumbnails existed
    writes = []
    real_put = store.put
    monkeypatch.setattr(store, "put", lambda *a, **kw: writes.append(a[0]) or real_put(*a, **kw))
    for _ in range(3):
        shown = ops.get(resp.json["thumbnail_url"])
        assert shown.status_code in (200, 302)
    assert writes == [key + ".thumb.jpg"]
    body = shown.data if shown.status_code == 200 else fetch(app, shown.headers["Location"]).read()
    with Image.open(io.BytesIO(body)) as thumb:
        assert thumb.size == (240, 320)


def test_a_thumbnail_failure_keeps_the_photo_and_the_view_falls_back_to_it(app, store, contractor, order, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("decoder broke")

    monkeypatch.setattr("PIL.ImageOps.exif_transpose", broken)
    data = rotated_jpeg()
    resp = upload(app, contractor, order.id, "plate", data)
    assert resp.status_code == 201, resp.json
    assert store.exists(resp.json["object_key"]) and not store.exists(resp.json["object_key"] + ".thumb.jpg")
    with app.app_context():
        assert db.session.query(WorkOrderPhoto).count() == 1
    shown = contractor.get(resp.json["thumbnail_url"])
    body = shown.data if shown.status_code == 200 else fetch(app, shown.headers["Location"]).read()
    assert body == data  # the full-size photo, scaled by the page


def test_a_png_with_transparency_gets_a_jpeg_thumbnail(app, store, contractor, order):
    image = Image.new("RGBA", (800, 200), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, format="PNG")
    resp = upload(app, contractor, order.id, "driver_camera", out.getvalue(), "image/png")
    assert resp.status_code == 201, resp.json
    with Image.open(io.BytesIO(store.get(resp.json["object_key"] + ".thumb.jpg"))) as thumb:
        assert (thumb.format, thumb.size, thumb.getpixel((5, 5))) == ("JPEG", (320, 80), (255, 255, 255))


def test_a_photo_over_the_pixel_limit_is_refused_at_registration_with_a_clear_message(app, store, contractor, order, monkeypatch):
    monkeypatch.setitem(app.config, "PHOTO_MAX_PIXELS", 640 * 480 - 1)
    data = rotated_jpeg()
    grant = contractor.post(f"/api/work-orders/{order.id}/photos/presign",
                            json={"kind": "plate", "content_type": "image/jpeg", "size": len(data)}).json
    assert put_object(app, grant["url"], data, "image/jpeg") == 200
    resp = contractor.post(f"/api/work-orders/{order.id}/photos", json={"kind": "plate", "key": grant["key"]})
    assert resp.status_code == 422
    assert "at most 307,199 pixels" in resp.json["errors"]["size"][0]
    assert not store.exists(grant["key"]) and not store.exists(grant["key"] + ".thumb.jpg")


def test_a_thumbnail_key_cannot_be_registered_as_a_photo(app, store, contractor, order):
    resp = upload(app, contractor, order.id, "plate", rotated_jpeg())
    again = contractor.post(f"/api/work-orders/{order.id}/photos", json={"kind": "plate", "key": resp.json["object_key"] + ".thumb.jpg"})
    assert again.status_code == 422 and "key" in again.json["errors"]


def test_replacing_a_photo_removes_its_thumbnail_too(app, store, contractor, order):
    first = upload(app, contractor, order.id, "plate", rotated_jpeg())
    second = upload(app, contractor, order.id, "plate", f.photo_jpeg(TAKEN))
    assert second.status_code == 201
    assert not store.exists(first.json["object_key"] + ".thumb.jpg")
    assert store.exists(second.json["object_key"] + ".thumb.jpg")


# ---- the registration's answer and the full-size view --------------------------------------------------------


def test_the_registration_answer_carries_the_links_and_the_local_times(app, contractor, order):
    resp = upload(app, contractor, order.id, "plate", rotated_jpeg())
    body = resp.json
    assert body["view_url"] == f"/api/work-orders/{order.id}/photos/{body['id']}"
    assert body["thumbnail_url"] == body["view_url"] + "/thumbnail"
    assert body["captured_local"] == "2024-05-20 09:15"  # the EXIF wall time, Beijing
    uploaded = dt.datetime.fromisoformat(body["uploaded_at"]).astimezone(f.LOCAL_TZ)
    assert body["uploaded_local"] == uploaded.strftime("%Y-%m-%d %H:%M")
    assert uploaded.utcoffset() == dt.timedelta(hours=8)


def test_the_full_size_view_is_inline_with_its_type_never_sniffed_and_cached_privately(app, ops, order):
    data = rotated_jpeg()
    photo = upload(app, ops, order.id, "plate", data).json
    shown = ops.get(photo["view_url"])
    assert shown.status_code == 200
    assert shown.data == data
    assert shown.headers["Content-Type"] == "image/jpeg"
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert shown.headers["X-Content-Type-Options"] == "nosniff"
    assert shown.headers["Cache-Control"] == "private, max-age=300"


def test_on_s3_the_view_redirects_to_a_short_lived_presigned_url_with_the_same_headers(app, s3_store, ops, order, monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_URL_SECONDS", 120)
    data = rotated_jpeg()
    photo = upload(app, ops, order.id, "plate", data).json
    shown = ops.get(photo["view_url"])
    assert shown.status_code == 302
    assert shown.headers["Cache-Control"] == "private, no-store"
    location = shown.headers["Location"]
    assert location.startswith(s3_store.client.meta.endpoint_url) and "X-Amz-Expires=120" in location
    with urllib.request.urlopen(location, timeout=10) as response:
        assert response.read() == data
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["Content-Disposition"].startswith("inline")
        assert response.headers["Cache-Control"] == "private, max-age=120"
    thumb = ops.get(photo["thumbnail_url"])
    assert thumb.status_code == 302 and ".thumb.jpg" in thumb.headers["Location"]


def test_a_photo_gone_from_storage_is_not_found_not_an_error(app, store, ops, order):
    photo = upload(app, ops, order.id, "plate", rotated_jpeg()).json
    store.delete(photo["object_key"])
    assert ops.get(photo["view_url"]).status_code == 404
    store.delete(photo["object_key"] + ".thumb.jpg")
    assert ops.get(photo["thumbnail_url"]).status_code == 404


# ---- who sees which photo -----------------------------------------------------------------------------------


@pytest.fixture
def matrix(ctx, ops, contractor, other_contractor, reviewer):
    """Photos on three Alpha orders: a truck in a published finding, a truck only in a draft's, a truck in none."""
    trucks = {"published": aq.published_finding().truck, "draft": aq.draft_finding().truck, "none": f.insured_truck()}
    photos = {}
    for name, truck in trucks.items():
        order = installed_on(truck, kinds=["plate"])
        photo = order.photos[0]
        photos[name] = (f"/api/work-orders/{order.id}/photos/{photo.id}", truck.id)
    return photos


@pytest.mark.parametrize("suffix", ["", "/thumbnail"])
def test_who_may_see_which_photo(matrix, ops, contractor, other_contractor, reviewer, anon, suffix):
    seen = {}
    for who, client in {"ops": ops, "own contractor": contractor, "other contractor": other_contractor,
                        "reviewer": reviewer, "anonymous": anon}.items():
        seen[who] = {name: client.get(url + suffix).status_code for name, (url, _truck) in matrix.items()}
    assert seen == {
        "ops": {"published": 200, "draft": 200, "none": 200},
        "own contractor": {"published": 200, "draft": 200, "none": 200},
        "other contractor": {"published": 404, "draft": 404, "none": 404},
        "reviewer": {"published": 200, "draft": 404, "none": 404},
        "anonymous": {"published": 401, "draft": 401, "none": 401},
    }


def test_a_photo_id_of_another_order_is_not_found(matrix, ops):
    (published, _t), (draft, _t2) = matrix["published"], matrix["draft"]
    mixed = published.rsplit("/", 1)[0] + "/" + draft.rsplit("/", 1)[1]
    assert ops.get(mixed).status_code == 404


def test_a_reviewer_cannot_list_upload_or_register_photos(matrix, reviewer):
    url, _truck = matrix["published"]
    order_photos = url.rsplit("/", 1)[0]
    assert reviewer.get(order_photos).status_code == 403
    assert reviewer.post(order_photos, json={"kind": "plate", "key": "x"}).status_code == 403
    assert reviewer.post(order_photos + "/presign", json={"kind": "plate", "content_type": "image/jpeg", "size": 10}).status_code == 403


def test_truck_photos_follow_the_same_rule(app, matrix, contractor, other_contractor, reviewer):
    from insurer_dms.auth.models import User
    from insurer_dms.installs.evidence_view import truck_photos

    users = {u.email: u for u in db.session.query(User)}
    truck = matrix["published"][1]
    assert len(truck_photos(users[REVIEWER_EMAIL], truck)) == 1
    assert truck_photos(users[REVIEWER_EMAIL], matrix["draft"][1]) == []
    assert truck_photos(users["tech@beta.example.com"], truck) == []
    assert len(truck_photos(users[ALPHA_EMAIL], truck)) == 1


# ---- ticket photos: the same thumbnails and views, the ticket's access -----------------------------------------


def test_ticket_photos_get_thumbnails_and_the_tickets_access(app, store, ops, contractor, other_contractor, reviewer, anon):
    from tests import ticket_factories as tf
    from tests.test_tickets_photos import upload as upload_ticket_photo

    with app.app_context():
        ticket_id = tf.installed_truck_with_ticket("in_progress").id
    resp = upload_ticket_photo(app, contractor, ticket_id, rotated_jpeg())
    assert resp.status_code == 201, resp.json
    with Image.open(io.BytesIO(store.get(resp.json["object_key"] + ".thumb.jpg"))) as thumb:
        assert thumb.size == (240, 320)
    assert resp.json["thumbnail_url"] == f"/api/tickets/{ticket_id}/photos/{resp.json['id']}/thumbnail"
    assert resp.json["captured_local"] == "2024-05-20 09:15"
    for url in (resp.json["view_url"], resp.json["thumbnail_url"]):
        seen = {who: client.get(url).status_code for who, client in
                {"ops": ops, "own": contractor, "other": other_contractor, "reviewer": reviewer, "anon": anon}.items()}
        expected = 302 if isinstance(store, S3Storage) else 200
        assert seen == {"ops": expected, "own": expected, "other": 404, "reviewer": 403, "anon": 401}
    html = aq.session_client(app, OPS_EMAIL).get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert f'<img src="{resp.json["thumbnail_url"]}"' in html


# ---- the pages ----------------------------------------------------------------------------------------------


def thumbs(html):
    return re.findall(r'<img src="(/api/work-orders/\d+/photos/\d+/thumbnail)"', html)


def test_the_ops_work_order_page_shows_thumbnails_linking_to_the_photos_with_local_times(app, ctx, ops):
    order = f.with_photos(f.assigned_order("Alpha Installations"))
    photo = order.photos[0]
    photo.uploaded_at = dt.datetime(2024, 5, 20, 3, 0, tzinfo=dt.timezone.utc)
    db.session.commit()
    html = aq.session_client(app, OPS_EMAIL).get(f"/work-orders/{order.id}").get_data(as_text=True)
    assert len(thumbs(html)) == 3
    row = re.search(rf'<tr id="photo-{photo.kind}">(.*?)</tr>', html, re.S).group(1)
    assert f'href="/api/work-orders/{order.id}/photos/{photo.id}"' in row
    assert "2024-05-20 10:30" in row and "2024-05-20 11:00" in row  # taken and uploaded, Beijing time


def test_the_truck_page_shows_the_evidence_of_its_work_orders(app, ctx, ops):
    truck = f.insured_truck()
    order = f.with_photos(f.assigned_order("Alpha Installations", truck=truck))
    other = f.with_photos(f.assigned_order("Beta Installations"), kinds=["plate"])
    html = aq.session_client(app, OPS_EMAIL).get(f"/trucks/{truck.id}").get_data(as_text=True)
    section = html.split('id="truck-evidence"', 1)[1].split("</div>", 1)[0]
    assert len(thumbs(section)) == 3 and order.number in section
    assert f"/work-orders/{other.id}/" not in html


def test_the_reviewers_finding_page_shows_the_trucks_evidence(app, ctx, reviewer):
    finding = aq.published_finding()
    order = installed_on(finding.truck)
    installed_on(f.insured_truck(), kinds=["plate"])  # another truck: not on this page
    pages = aq.session_client(app, REVIEWER_EMAIL)
    html = pages.get(f"/review/audits/{finding.audit_id}/findings/{finding.id}").get_data(as_text=True)
    section = html.split('id="finding-evidence"', 1)[1].split("</div>", 1)[0]
    assert thumbs(section) == [f"/api/work-orders/{order.id}/photos/{p.id}/thumbnail" for p in order.photos]
    for url in thumbs(section):
        assert pages.get(url).status_code == 200


def test_the_technicians_page_shows_the_thumbnail_and_both_local_times(app, ctx, contractor):
    order = f.with_photos(f.assigned_order("Alpha Installations"), kinds=["plate"])
    photo = order.photos[0]
    photo.uploaded_at = dt.datetime(2024, 5, 20, 3, 0, tzinfo=dt.timezone.utc)
    db.session.commit()
    html = aq.session_client(app, ALPHA_EMAIL).get(f"/my/orders/{order.id}").get_data(as_text=True)
    status = re.search(r'id="photo-status-plate"[^>]*>(.*?)</div>', html, re.S).group(1)
    assert " ".join(status.split()) == "Uploaded 2024-05-20 11:00 · taken 2024-05-20 10:30"
    assert thumbs(html.split('id="photo-thumb-plate"', 1)[1]) [:1] == [f"/api/work-orders/{order.id}/photos/{photo.id}/thumbnail"]


# ---- Chromium ------------------------------------------------------------------------------------------------


def test_ops_open_a_photo_from_a_work_order(app, login_as):
    with app.app_context():
        order = f.with_photos(f.assigned_order("Alpha Installations"))
        order_id, photo_id = order.id, order.photos[0].id
    page = login_as("ops")
    page.goto(page.url.split("/home")[0] + f"/work-orders/{order_id}")
    thumb = page.locator(f"#evidence-thumb-{photo_id}")
    page.wait_for_function("id => { const i = document.getElementById(id); return i && i.complete && i.naturalWidth > 0; }",
                           arg=f"evidence-thumb-{photo_id}")
    with page.context.expect_page() as opened:
        thumb.click()
    full = opened.value
    full.wait_for_load_state()
    assert full.url.endswith(f"/photos/{photo_id}")
    assert full.evaluate("document.images.length === 1 && document.images[0].naturalWidth") == 64  # the original, 64 x 48


@pytest.fixture(scope="module")
def s3_live(s3_app, pytestconfig):  # noqa: F811
    """A second live server: the app on the moto S3 server, as in production (photos PUT and viewed there)."""
    from pytest_flask.live_server import LiveServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = LiveServer(s3_app, "127.0.0.1", port, pytestconfig.getvalue("live_server_wait"), pytestconfig.getvalue("live_server_clean_stop"))
    server.start()
    yield server
    server.stop()


def log_in(page, base, email):
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "password123")
    page.click("#login-submit")
    page.wait_for_url(lambda url: "/login" not in url)


def test_a_technician_on_a_phone_sees_the_thumbnail_right_after_uploading(app, s3_live, browser, tmp_path):
    from insurer_dms.auth.service import create_user

    with app.app_context():
        create_user("phone@alpha.example.com", "contractor", "password123", "Alpha Installations")
        order_id = f.assigned_order("Alpha Installations").id
    photo_file = tmp_path / "plate.jpg"
    photo_file.write_bytes(rotated_jpeg(size=(1200, 900)))
    # The phone's clock and zone are not Beijing's: the times shown must still be.
    context = browser.new_context(locale="en-US", timezone_id="America/New_York", viewport={"width": 390, "height": 844},
                                  is_mobile=True, has_touch=True, device_scale_factor=3)
    phone = context.new_page()
    phone.set_default_timeout(15000)
    try:
        log_in(phone, s3_live.url(""), "phone@alpha.example.com")
        phone.goto(s3_live.url(f"/my/orders/{order_id}"))
        phone.set_input_files("#photo-input-plate", str(photo_file))
        phone.wait_for_selector('#photo-status-plate[data-done="yes"]', timeout=20000)
        phone.wait_for_function("() => { const i = document.querySelector('#photo-thumb-plate img');"
                                " return i && i.complete && i.naturalWidth > 0; }")
        size = phone.evaluate("() => { const i = document.querySelector('#photo-thumb-plate img'); return [i.naturalWidth, i.naturalHeight]; }")
        assert size == [240, 320]  # the thumbnail, turned upright
        status = phone.inner_text("#photo-status-plate")
        with app.app_context():
            photo = db.session.query(WorkOrderPhoto).one()
            uploaded = photo.uploaded_at.astimezone(f.LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
        assert status == f"Uploaded {uploaded} · taken 2024-05-20 09:15"
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        phone.reload()
        assert phone.inner_text("#photo-status-plate").strip() == status  # the same after a reload
    finally:
        context.close()


def test_a_reviewer_sees_a_findings_evidence_and_nothing_of_another_truck(app, login_as):
    with app.app_context():
        finding = aq.published_finding()
        order = installed_on(finding.truck, kinds=["plate"])
        elsewhere = installed_on(aq.draft_finding().truck, kinds=["plate"])
        page_url = f"/review/audits/{finding.audit_id}/findings/{finding.id}"
        photo_id, hidden = order.photos[0].id, f"/api/work-orders/{elsewhere.id}/photos/{elsewhere.photos[0].id}"
    page = login_as("reviewer")
    base = page.url.split("/review")[0]
    page.goto(base + page_url)
    page.wait_for_function("id => { const i = document.getElementById(id); return i && i.complete && i.naturalWidth > 0; }",
                           arg=f"evidence-thumb-{photo_id}")
    assert page.locator("#finding-evidence .evidence").count() == 1
    assert page.goto(base + f"/api/work-orders/{order.id}/photos/{photo_id}").status == 200
    for url in (hidden, hidden + "/thumbnail"):
        assert page.goto(base + url).status == 404
