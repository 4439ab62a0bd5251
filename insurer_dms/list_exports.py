""""Export Excel" of a list: every row of its filter, in its sort, as one streamed XLSX sheet.

The page (``web.pages.exportable``) and the API (``format=xlsx`` or ``Accept:`` the XLSX type) both call
``export_response`` with the list's ``ListSpec`` and the arguments its schema loaded, so the file holds what the
list shows, whoever asks: the role and company scoping is the list's own query. Headers and code columns are in
Chinese unless ``lang=en`` (for integrators); cells go through ``exports.py`` (dates as dates, money as numbers with
two decimals, formula-looking text as text). More rows than ``EXPORT_MAX_ROWS`` are refused whole (422) with a
message that says how many and what to do.
"""
import datetime as dt

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from .downloads import stream_response
from .errors import Invalid
from .exports import LOCAL_TZ, XLSX_CONTENT_TYPE, Heading, Sheet, export_language, xlsx_file
from .extensions import db
from .paging import paginate_filtered

XLSX_DOC = {
    "responses": {
        200: {"content": {XLSX_CONTENT_TYPE: {"schema": {"type": "string", "format": "binary"}}},
                "description": "With format=xlsx or Accept: the XLSX type: every row of the filter (not one page) in "
                               "the sort, Chinese headers unless lang=en."},
        422: {"description": "A bad argument, or more rows than EXPORT_MAX_ROWS for an export (nothing partial)."},
    }
}


def xlsx_doc(blp):
    """The OpenAPI note of a list endpoint's XLSX answer (a decorator from ``blp.doc``)."""
    return blp.doc(**XLSX_DOC)


def wants_xlsx(args):
    """True when the list is asked for as XLSX: ``format=xlsx``, or no ``format`` and an Accept that prefers it."""
    if args.get("format"):
        return args["format"] == "xlsx"
    accept = request.accept_mimetypes
    return accept[XLSX_CONTENT_TYPE] > 0 and accept.best_match(["application/json", XLSX_CONTENT_TYPE]) == XLSX_CONTENT_TYPE


def export_response(spec, args):
    """The XLSX download of ``spec``'s rows for ``args``; ``Invalid`` (422) beyond EXPORT_MAX_ROWS."""
    stmt = spec.statement(args)
    limit = current_app.config["EXPORT_MAX_ROWS"]
    count = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    if count > limit:
        raise Invalid(_l("This list has %(count)s rows, more than the %(limit)s an export may hold: narrow the filters "
                         "and export again.", count=count, limit=limit))
    day = dt.datetime.now(LOCAL_TZ).date().isoformat()
    with export_language(args.get("lang")):
        title = str(spec.filename)
        # code columns as their labels, or in English as the codes themselves (the API's words), as labels.cell does
        english = args.get("lang") == "en"
        labels = [column.labels() if column.labels and not english else None for column in spec.columns]
        header = Heading([str(column.header) for column in spec.columns])
        rows = db.session.scalars(stmt.execution_options(yield_per=500))
        sheet = Sheet(title=title, rows=_rows(header, spec.columns, labels, rows), freeze="A2")
        out = xlsx_file([sheet])
    name = f"{spec.slug}-{day}.xlsx" if args.get("lang") == "en" else f"{title} {spec.slug} {day}.xlsx"
    return stream_response(out, name, XLSX_CONTENT_TYPE, {"X-Export-Rows": str(count)})


def _rows(header, columns, labels, rows):
    yield header
    for row in rows:
        values = []
        for column, shown in zip(columns, labels):
            value = column.value(row)
            values.append(shown.get(value, value) if shown is not None and value is not None else value)
        yield values


def page_or_xlsx(spec, args):
    """A list endpoint's answer: one page of JSON, or the XLSX of every row when asked for it."""
    return export_response(spec, args) if wants_xlsx(args) else paginate_filtered(spec, args)
