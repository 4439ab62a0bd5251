"""What every request must satisfy before a view reads it.

A JSON body is at most ``JSON_MAX_BYTES`` (413) and nested at most ``JSON_MAX_DEPTH`` deep (400: Python's parser
would otherwise recurse until it fails). The query string and form fields hold no NUL character (422): the schemas'
text fields refuse it too, this also covers the few page forms not yet read through a schema.
"""
import json

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from .errors import Invalid
from .fields import TEXT_ERRORS


def _too_deep(value, limit):
    """True when ``value`` nests lists or objects more than ``limit`` deep (iterative: no recursion to exhaust)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def check_json_body():
    if not request.is_json:
        return
    limit = current_app.config["JSON_MAX_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(_l("A JSON body may be at most %(size)s KB.", size=limit // 1024))
    data = request.get_data(cache=True)
    if len(data) > limit:
        raise RequestEntityTooLarge(_l("A JSON body may be at most %(size)s KB.", size=limit // 1024))
    if not data.strip():
        return
    try:
        body = json.loads(data)
    except RecursionError:
        body = None
    except ValueError:
        return  # not JSON at all: the view's parser answers that
    else:
        if not _too_deep(body, current_app.config["JSON_MAX_DEPTH"]):
            return
    raise BadRequest(_l("The JSON body is nested more than %(depth)s levels deep.",
                        depth=current_app.config["JSON_MAX_DEPTH"]))


def check_text_parameters():
    sources = [request.args]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
    errors = {}
    for source in sources:
        for name, values in source.lists():
            name = name or ""  # a multipart part may come without a name
            if "\x00" in name or any(isinstance(value, str) and "\x00" in value for value in values):
                errors.setdefault(name.replace("\x00", ""), []).append(TEXT_ERRORS["nul"])
    if errors:
        raise Invalid(_l("Some fields are invalid."), errors)


def check_request():
    """before_request: refuse what no view should have to handle."""
    check_json_body()
    check_text_parameters()
