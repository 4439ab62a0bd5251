"""The one error body, and domain exceptions mapped to HTTP statuses.

Every error answered by the API has the shape
``{"code": 422, "status": "Unprocessable Entity", "message": "...", "errors": {"field": ["..."]}}``;
file imports add ``"rows": [{"row": 7, "column": "vin", "message": "..."}]``.
"""
import marshmallow as ma
from flask import jsonify, redirect, render_template, request, url_for
from flask_smorest import Api as SmorestApi

from . import fields


class DomainError(Exception):
    """Base of the errors a service raises on purpose."""

    status = 400

    def __init__(self, message, errors=None, rows=None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.rows = rows


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
        rows = sorted(rows, key=lambda r: (r["row"], r.get("column") or ""))
        super().__init__(message or f"{len({r['row'] for r in rows})} row(s) are invalid; nothing was imported.", rows=rows)


def invalid(field, message):
    """Shorthand for a single-field validation failure."""
    return Invalid(message, {field: [message]})


def flatten_errors(errors, prefix=""):
    """Turn marshmallow/webargs nested messages into ``{"a.0.b": [msg, ...]}``."""
    flat = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            if not prefix and key in ("json", "query", "form", "files", "path", "headers", "cookies"):
                flat.update(flatten_errors(value, ""))
                continue
            name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, name))
    elif isinstance(errors, (list, tuple)):
        if all(isinstance(e, str) for e in errors):
            flat.setdefault(prefix or "_schema", []).extend(errors)
        else:
            for e in errors:
                flat.update(flatten_errors(e, prefix))
    else:
        flat.setdefault(prefix or "_schema", []).append(str(errors))
    return flat


def _wants_json():
    return request.path.startswith("/api") or request.accept_mimetypes.best == "application/json"


def error_response(code, status, message, errors=None, rows=None, headers=None):
    body = {"code": code, "status": status, "message": message}
    if errors:
        body["errors"] = errors
    if rows is not None:
        body["rows"] = rows
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
        message = data.get("message") or error.description or error.name
        if error.code == 422 and messages and not data.get("message"):
            message = "Some fields are invalid."
        return error_response(error.code, error.name, message, errors, headers=data.get("headers"))


def register_error_handlers(app):
    @app.errorhandler(DomainError)
    def _domain_error(err):
        names = {404: "Not Found", 409: "Conflict", 422: "Unprocessable Entity", 400: "Bad Request", 403: "Forbidden"}
        return error_response(err.status, names.get(err.status, "Error"), err.message, err.errors, err.rows)

    @app.errorhandler(Exception)
    def _unexpected(err):
        # HTTPExceptions never reach here: Api.handle_http_exception is more specific.
        app.logger.exception("Unhandled error")
        return error_response(500, "Internal Server Error", "Internal error; it has been logged.")

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
