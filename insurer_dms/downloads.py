"""File downloads as HTTP responses, and the one place a ``Content-Disposition`` header is built.

A download's name often carries user or database text (a county code, a work-order number, an attachment's own
name), so the header is made here only, after RFC 6266 with RFC 5987's encoding:
``attachment; filename="ascii.csv"; filename*=UTF-8''%E9%85%8D%E7%BD%AE.csv``. The ``filename*`` parameter carries
the whole name percent-encoded (every browser since 2012 prefers it); the plain ``filename`` is an ASCII fallback
without control characters, quotes, backslashes, semicolons or anything outside printable ASCII. No text of the
name can end the header, add a parameter or make Werkzeug refuse the header (non-Latin-1 characters: a 500).
"""
import re
import unicodedata
from urllib.parse import quote

from flask import Response

from .exports import XLSX_CONTENT_TYPE as XLSX

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NOT_FALLBACK = re.compile(r'[^\x20-\x7e]|["\\;%]')
ATTR_CHARS = "!#$&+-.^_`|~"  # RFC 5987 attr-char beside ALPHA and DIGIT: kept as they are in filename*


def clean_name(filename, default="download"):
    """The name without folders, control characters or surrounding spaces (``default`` when nothing is left)."""
    name = _CONTROL.sub("", str(filename or "")).replace("\\", "/").rpartition("/")[2]
    name = name.strip(" .") or default
    return name[:200]


def _fold(text):
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"\s+", " ", _NOT_FALLBACK.sub("", folded)).strip()


def ascii_fallback(name, default="download"):
    """The ``filename="..."`` value: accents folded (é -> e), anything else outside printable ASCII, quotes,
    backslashes, ``;`` and ``%`` dropped; ``download.csv`` when nothing of the name but its extension is left."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem, extension = _fold(stem), _fold(extension)[:16]
    if not stem.strip(" ._-"):
        stem = default
    return f"{stem}.{extension}" if extension else stem


def content_disposition(filename, disposition="attachment"):
    """The ``Content-Disposition`` value for ``filename``, whatever characters it holds."""
    name = clean_name(filename)
    return f"{disposition}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe=ATTR_CHARS)}"


def file_response(data, filename, mimetype, headers=None, disposition="attachment"):
    """A download of ``data`` named ``filename`` (``disposition="inline"``: shown in the browser); ``headers`` are
    added as they are."""
    headers = {"Content-Disposition": content_disposition(filename, disposition), **(headers or {})}
    return Response(data, mimetype=mimetype, headers=headers)


def stream_response(out, filename, mimetype, headers=None, chunk=64 * 1024):
    """A download of the binary file ``out`` (rewound) sent in chunks and closed after; ``headers`` added as they are."""

    def chunks():
        with out:
            while block := out.read(chunk):
                yield block

    headers = {"Content-Disposition": content_disposition(filename), **(headers or {})}
    return Response(chunks(), mimetype=mimetype, headers=headers)


def csv_response(data, filename):
    return file_response(data, filename, "text/csv")


def xlsx_response(data, filename):
    return file_response(data, filename, XLSX)
