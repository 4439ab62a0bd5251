"""The one error body, and domain exceptions mapped to HTTP statuses.

Every error answered by the API has the shape
``{"code": 422, "status": "Unprocessable Entity", "message": "...", "errors": {"field": ["..."]}}``;
file imports add ``"rows": [{"row": 7, "column": "vin", "message": "..."}]``.

Messages are ids (Flask-Babel lazy strings, ``_l("No work order %(id)s.", id=order_id)``, or marshmallow's, see
validation_messages.py): this edge turns them into text in the language of the request (the user's, else the
browser's), or the default language outside a request (jobs).
"""
import marshmallow as ma
from flask import jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_smorest import Api as SmorestApi
from werkzeug import exceptions as http

from . import fields
from .validation_messages import LIBRARY_TEXTS


def text(message):
    """A message id (or plain text) as text in the current language."""
    if message is None:
        return None
    return str(LIBRARY_TEXTS.get(message, message)) if isinstance(message, str) else str(message)


def _column(column):
    """A row error's column: the header as the file wrote it, or a missing column named in the current language."""
    return column if column is None or isinstance(column, str) else str(column)


def texts(messages):
    """``text`` of every message in a nested dict/list of messages, keeping its shape."""
    if isinstance(messages, dict):
        return {key: texts(value) for key, value in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [texts(value) for value in messages]
    return text(messages)


class DomainError(Exception):
    """Base of the errors a service raises on purpose.

    ``message``, ``errors`` (field -> messages) and ``rows`` read as text in the current language; the ids given
    stay in ``message_id``, ``field_messages`` and ``row_messages``.
    """

    status = 400

    def __init__(self, message, errors=None, rows=None):
        super().__init__(message)
        self.message_id = message
        self.field_messages = errors or {}
        self.row_messages = rows

    @property
    def message(self):
        return text(self.message_id)

    @property
    def errors(self):
        return {field: texts(messages if isinstance(messages, (list, tuple, dict)) else [messages])
                for field, messages in self.field_messages.items()}

    @property
    def rows(self):
        if self.row_messages is None:
            return None
        return [{**row, "column": _column(row.get("column")), "message": text(row.get("message"))} for row in self.row_messages]


class Invalid(DomainError):
    """Input that breaks a rule; ``errors`` maps field names to messages."""

    status = 422


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    """The request clashes with the current state (duplicate, race, illegal transition)."""

    status = 409


class ImportFailed(Invalid):
    """A file import with bad rows: nothing was stored, every bad row is listed."""

    def __init__(self, rows, message=None):
        rows = sorted(rows, key=lambda r: (r["row"], str(r.get("column") or "")))
        count = len({r["row"] for r in rows})
        super().__init__(message or _l("%(count)s row(s) are invalid; nothing was imported.", count=count), rows=rows)


def invalid(field, message):
    """Shorthand for a single-field validation failure."""
    return Invalid(message, {field: [message]})


def flatten_errors(errors, prefix=""):
    """Turn marshmallow/webargs nested messages into ``{"a.0.b": [text, ...]}`` (text in the current language)."""
    flat = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            if not prefix and key in ("json", "query", "form", "files", "path", "headers", "cookies"):
                flat.update(flatten_errors(value, ""))
                continue
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, name))
    elif isinstance(errors, (list, tuple)):
        if not any(isinstance(e, (dict, list, tuple)) for e in errors):
            flat.setdefault(prefix or "_schema", []).extend(text(e) for e in errors)
        else:
            for e in errors:
                flat.update(flatten_errors(e, prefix))
    else:
        flat.setdefault(prefix or "_schema", []).append(text(errors))
    return flat


def _wants_json():
    return request.path.startswith("/api") or request.accept_mimetypes.best == "application/json"


def error_response(code, status, message, errors=None, rows=None, headers=None):
    """The one error body, its messages as text in the request's language; JSON for the API, else error.html."""
    body = {"code": code, "status": status, "message": text(message)}
    if errors:
        body["errors"] = {field: texts(messages) for field, messages in errors.items()}
    if rows is not None:
        body["rows"] = [{**row, "column": _column(row.get("column")), "message": text(row.get("message"))} for row in rows]
    if _wants_json():
        resp = jsonify(body)
    else:
        resp = render_template("error.html", error=body)
    if isinstance(resp, str):
        from flask import make_response

        resp = make_response(resp)
    resp.status_code = code
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


class ErrorRowSchema(ma.Schema):
    row = fields.Integer(minimum=1, metadata={"description": "the file's row number; the header is row 1"})
    column = fields.String(allow_none=True)
    message = fields.String()


class ErrorSchema(ma.Schema):
    """The one error body."""

    code = fields.Integer(minimum=400, maximum=599)
    status = fields.String()
    message = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "messages per field (nested fields as a.0.b)"})
    rows = fields.List(fields.Nested(ErrorRowSchema), metadata={"description": "file imports: every bad row"})


class Api(SmorestApi):
    """flask-smorest's Api with our error body."""

    ERROR_SCHEMA = ErrorSchema

    def _register_pagination_header(self):
        """Lists carry their paging in the body (``paging.page_schema``), not flask-smorest's header."""

    def init_app(self, app, *, spec_kwargs=None):
        super().init_app(app, spec_kwargs=spec_kwargs)
        from .fields import decimal_openapi

        self.ma_plugin.converter.add_attribute_function(decimal_openapi)

    def handle_http_exception(self, error):
        if error.code == 401 and not _wants_json():
            return redirect(url_for("auth.login", next=request.full_path))
        data = getattr(error, "data", None) or {}
        messages = data.get("messages") or data.get("errors")
        errors = flatten_errors(messages) if messages else None
        message = data.get("message") or http_description(error)
        if error.code == 422 and messages and not data.get("message"):
            message = SOME_FIELDS_INVALID
        return error_response(error.code, error.name, message, errors, headers=data.get("headers"))


SOME_FIELDS_INVALID = _l("Some fields are invalid.")
INTERNAL_ERROR = _l("Internal error; it has been logged.")


def _stock_descriptions():
    """Werkzeug's own description of each status, as message ids (the English text is Werkzeug's)."""
    return {
        400: _l("The browser (or proxy) sent a request that this server could not understand."),
        401: _l("The server could not verify that you are authorized to access the URL requested. You either supplied "
                "the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the "
                "credentials required."),
        403: _l("You don't have the permission to access the requested resource. It is either read-protected or not "
                "readable by the server."),
        404: _l("The requested URL was not found on the server. If you entered the URL manually please check your "
                "spelling and try again."),
        405: _l("The method is not allowed for the requested URL."),
        409: _l("A conflict happened while processing the request. The resource might have been modified while the "
                "request was being processed."),
        413: _l("The data value transmitted exceeds the capacity limit."),
        415: _l("The server does not support the media type transmitted in the request."),
        422: _l("The request was well-formed but was unable to be followed due to semantic errors."),
        429: _l("This user has exceeded an allotted request count. Try again later."),
        500: _l("The server encountered an internal error and was unable to complete your request. Either the server "
                "is overloaded or there is an error in the application."),
    }


def http_description(error):
    """An HTTP error's description: ours when a view gave one, else Werkzeug's stock text in the user's language."""
    stock = http.default_exceptions.get(error.code)
    if error.description and (stock is None or error.description != stock.description):
        return error.description
    return _stock_descriptions().get(error.code, error.description or error.name)


def register_error_handlers(app):
    @app.errorhandler(DomainError)
    def _domain_error(err):
        names = {404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity", 400: "Bad Request", 403: "Forbidden"}
        return error_response(err.status, names.get(err.status, "Error"), err.message, err.errors, err.rows)

    @app.errorhandler(Exception)
    def _unexpected(err):
        # HTTPExceptions never reach here: Api.handle_http_exception is more specific.
        app.logger.exception("Unhandled error")
        return error_response(500, "Internal Server Error", INTERNAL_ERROR)

    register_integrity_safety_net(app, _domain_error)


def register_integrity_safety_net(app, answer):
    """A database constraint's refusal that escaped a service's ``transactions.race_guard`` is never a 500: the
    session is rolled back and the request answered as the guard would have (409, or 422 for NOT NULL/CHECK; see
    ``constraints.py``), and logged, as the service it came from should guard that write itself."""
    from sqlalchemy.exc import IntegrityError

    @app.errorhandler(IntegrityError)
    def _integrity_error(err):
        from . import constraints
        from .extensions import db

        db.session.rollback()
        app.logger.warning("A database constraint refused %s %s outside a service's race guard: %s",
                           request.method, request.path, err.orig)
        return answer(constraints.refusal(err))

    from sqlalchemy.exc import DataError

    @app.errorhandler(DataError)
    def _data_error(err):
        """A value the database cannot store (text longer than its column, a number beyond its type) that no schema
        refused: the input is at fault, so 422, never a 500; logged as an error, as a field type should bound it."""
        from .extensions import db

        db.session.rollback()
        app.logger.error("The database refused a value in %s %s that no schema bounded: %s",
                         request.method, request.path, err.orig)
        return answer(Invalid(DOES_NOT_FIT))


DOES_NOT_FIT = _l("A value is too long or out of range for where it is stored; nothing was saved.")
