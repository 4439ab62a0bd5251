"""Object storage: boto3 against any S3-compatible store, or a local folder when no S3 is configured."""
import hashlib
from pathlib import Path

from flask import current_app


class LocalStorage:
    """Objects as files under a folder; same interface as S3Storage."""

    def __init__(self, root):
        self.root = Path(root)

    def _path(self, key):
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("object key escapes the storage folder")
        return path

    def put(self, key, data, content_type="application/octet-stream"):
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return key

    def get(self, key):
        return self._path(key).read_bytes()

    def exists(self, key):
        return self._path(key).is_file()

    def size(self, key):
        return self._path(key).stat().st_size if self.exists(key) else None

    def list(self, prefix=""):
        base = self.root.resolve()
        if not base.exists():
            return []
        return sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() and str(p.relative_to(base)).startswith(prefix))

    def delete(self, key):
        self._path(key).unlink(missing_ok=True)


class S3Storage:
    def __init__(self, client, bucket):
        self.client = client
        self.bucket = bucket

    def put(self, key, data, content_type="application/octet-stream"):
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)
        return key

    def get(self, key):
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def _head(self, key):
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def exists(self, key):
        return self._head(key) is not None

    def size(self, key):
        head = self._head(key)
        return head["ContentLength"] if head else None

    def list(self, prefix=""):
        keys = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(keys)

    def delete(self, key):
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def presigned_put(self, key, content_type, expires=900):
        return self.client.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": key, "ContentType": content_type}, ExpiresIn=expires
        )

    def presigned_get(self, key, expires=900, content_type=None, disposition=None, cache_control=None):
        """A GET URL; the optional response headers are signed into it (S3's response-content-type etc.)."""
        params = {"Bucket": self.bucket, "Key": key}
        for name, value in (("ResponseContentType", content_type), ("ResponseContentDisposition", disposition),
                            ("ResponseCacheControl", cache_control)):
            if value:
                params[name] = value
        return self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)


def make_storage(config):
    if config.get("S3_BUCKET"):
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3",
            # SigV4 presigned URLs: what current S3 stores require, and what browsers' CORS preflights pass.
            config=Config(signature_version="s3v4"),
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region_name=config.get("S3_REGION"),
            aws_access_key_id=config.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=config.get("AWS_SECRET_ACCESS_KEY"),
        )
        return S3Storage(client, config["S3_BUCKET"])
    return LocalStorage(config["OBJECTS_DIR"])


def storage():
    """The object store of the current app."""
    return current_app.extensions["insurer_dms.storage"]


def sha256(data):
    return hashlib.sha256(data).hexdigest()
