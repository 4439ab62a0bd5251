"""Security headers on every response (pages, API, static files, errors): CSP, framing, sniffing, referrer, HSTS.

The pages run no inline script (scripts are files under static/, wired by ids and data- attributes), so
``script-src 'self'`` holds. Styles allow 'unsafe-inline': pages and the server-drawn charts use style attributes and
a few <style> blocks; CSS cannot run script, and every value in them is written by Jinja with autoescaping.
"""
import weakref
from urllib.parse import urlsplit

from flask import current_app

HSTS = "max-age=31536000"  # a year; only sent while the session cookie is Secure (served over HTTPS)

_upload_origins = weakref.WeakKeyDictionary()


def upload_origin(store):
    """The origin browsers PUT evidence photos to when objects live in S3 (presigned URLs), else None."""
    if not hasattr(store, "presigned_put"):
        return None  # the local folder: uploads go to the app itself
    if store not in _upload_origins:
        parts = urlsplit(store.presigned_put("csp-probe", "image/jpeg"))  # signed locally, no request made
        _upload_origins[store] = f"{parts.scheme}://{parts.netloc}"
    return _upload_origins[store]


def content_security_policy():
    connect, images = ["'self'"], ["'self'", "data:"]
    origin = upload_origin(current_app.extensions["insurer_dms.storage"])
    if origin:
        connect.append(origin)
        images.append(origin)  # evidence photos and thumbnails redirect to presigned URLs there
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src " + " ".join(images),
        "connect-src " + " ".join(connect),
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def add_security_headers(response):
    """after_request: the headers every answer carries (a view may set its own first)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response
