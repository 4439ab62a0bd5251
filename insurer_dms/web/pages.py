"""What every list and import page does the same way: read filters, page and sort a query, export it, run a file
import."""
from functools import wraps

import marshmallow as ma
from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from ..errors import DomainError, ImportFailed, Invalid
from ..imports import read_upload
from ..list_exports import export_response
from ..paging import CONTROLS, paginate_filtered


def list_filters(schema):
    """Filters from the query string; a bad filter is reported and ignored, never a 500."""
    raw = {k: v for k, v in request.args.items() if v != ""}
    try:
        return schema.load(raw, unknown=ma.EXCLUDE)
    except ma.ValidationError as err:
        flash(_("Some filters were ignored: %(fields)s", fields=", ".join(sorted(err.messages))), "error")
        return schema.load({k: v for k, v in raw.items() if k not in err.messages}, unknown=ma.EXCLUDE)


def listing(schema, query):
    """One page of ``query(**filters)`` with the filters read by ``schema``; returns (page, filters)."""
    args = list_filters(schema)
    return paginate_filtered(query, args), {k: v for k, v in args.items() if k not in CONTROLS}


def exportable(schema, spec):
    """A list page's "Export Excel": with ``format=xlsx`` the view answers the XLSX of every row of the filters
    (read by ``schema``, a ``ListSpec.args`` class) in the sort; beyond EXPORT_MAX_ROWS the message is flashed on
    the list. Put it under the view's ``require`` (the export is the list's, with its role and scoping)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if request.args.get("format") != "xlsx":
                return view(*args, **kwargs)
            loaded = list_filters(schema())
            try:
                return export_response(spec, loaded)
            except Invalid as err:
                flash(err.message, "error")
                query = {k: v for k, v in request.args.items() if k != "format"}
                return redirect(url_for(request.endpoint, **(request.view_args or {}), **query))

        return wrapper

    return decorate


def pager_args():
    """The query string without ``page``, for the pager's links."""
    return {k: v for k, v in request.args.items() if k != "page"}


def run_import(importer):
    """Read the uploaded ``file`` and call ``importer(data, filename)``.

    Returns (result, bad_rows, message, status): the importer's result on success; on failure the rows to fix
    (for the errors table), a message flashed to the user and the HTTP status to answer with.
    """
    try:
        data, filename = read_upload(request.files.get("file"))
        return importer(data, filename), None, None, 200
    except ImportFailed as err:
        flash(err.message, "error")
        return None, err.rows, err.message, 422
    except DomainError as err:
        message = "; ".join(str(m) for m in [err.message, *[m for msgs in err.errors.values() for m in msgs]])
        flash(message, "error")
        return None, None, message, err.status
