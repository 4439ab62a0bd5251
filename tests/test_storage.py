"""Object storage: the local folder and an S3-compatible store behave the same."""
import urllib.request
import uuid

import boto3
import pytest

from insurer_dms.storage import LocalStorage, S3Storage, make_storage, sha256


@pytest.fixture
def local_store(tmp_path):
    return make_storage({"S3_BUCKET": None, "OBJECTS_DIR": str(tmp_path / "objects")})


@pytest.fixture
def s3_store(s3_server):
    bucket = f"idms-test-{uuid.uuid4().hex[:12]}"
    credentials = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "S3_REGION": "us-east-1"}
    boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=bucket)
    return make_storage({"S3_BUCKET": bucket, "S3_ENDPOINT_URL": s3_server, **credentials})


@pytest.fixture(params=["local", "s3"])
def store(request):
    return request.getfixturevalue(f"{request.param}_store")


def test_make_storage_picks_the_backend(local_store, s3_store):
    assert isinstance(local_store, LocalStorage)
    assert isinstance(s3_store, S3Storage)


def test_put_get_exists_size_list_delete(store):
    photo = "设备照片".encode() + bytes(range(256))
    assert store.exists("evidence/wo-1/front.jpg") is False
    assert store.size("evidence/wo-1/front.jpg") is None

    assert store.put("evidence/wo-1/front.jpg", photo, "image/jpeg") == "evidence/wo-1/front.jpg"
    store.put("evidence/wo-1/cab.jpg", b"cab", "image/jpeg")
    store.put("statements/2026-09.csv", b"iccid,fee\n", "text/csv")

    assert store.exists("evidence/wo-1/front.jpg")
    assert store.get("evidence/wo-1/front.jpg") == photo
    assert sha256(store.get("evidence/wo-1/front.jpg")) == sha256(photo)
    assert store.size("evidence/wo-1/front.jpg") == len(photo)
    assert store.list("evidence/") == ["evidence/wo-1/cab.jpg", "evidence/wo-1/front.jpg"]
    assert store.list() == ["evidence/wo-1/cab.jpg", "evidence/wo-1/front.jpg", "statements/2026-09.csv"]

    store.delete("evidence/wo-1/front.jpg")
    assert not store.exists("evidence/wo-1/front.jpg")
    assert store.list("evidence/") == ["evidence/wo-1/cab.jpg"]
    store.delete("evidence/wo-1/front.jpg")  # deleting twice is harmless


def test_overwriting_a_key_replaces_the_object(store):
    store.put("a/b.txt", b"first")
    store.put("a/b.txt", b"second version")
    assert store.get("a/b.txt") == b"second version"
    assert store.size("a/b.txt") == len(b"second version")


def test_presigned_put_uploads_straight_to_s3(s3_store):
    url = s3_store.presigned_put("uploads/photo.jpg", "image/jpeg")
    body = b"\xff\xd8\xff" + b"jpeg bytes" * 100
    # Always send the Content-Type the URL was signed for (without it moto stores an empty object).
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": "image/jpeg"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    assert s3_store.exists("uploads/photo.jpg")
    assert s3_store.size("uploads/photo.jpg") == len(body)
    assert s3_store.get("uploads/photo.jpg") == body

    with urllib.request.urlopen(s3_store.presigned_get("uploads/photo.jpg"), timeout=10) as response:
        assert response.read() == body


@pytest.mark.parametrize("key", ["../outside.txt", "a/../../outside.txt", "/etc/passwd"])
def test_local_storage_refuses_keys_escaping_its_folder(local_store, tmp_path, key):
    with pytest.raises(ValueError):
        local_store.put(key, b"nope")
    with pytest.raises(ValueError):
        local_store.get(key)
    assert not (tmp_path / "outside.txt").exists()


def test_the_app_uses_the_local_folder_when_no_bucket_is_set(app, objects_dir):
    from insurer_dms.storage import storage

    with app.app_context():
        assert isinstance(storage(), LocalStorage)
        storage().put("probe/hello.txt", b"hello")
        assert (objects_dir / "probe" / "hello.txt").read_bytes() == b"hello"
        storage().delete("probe/hello.txt")
