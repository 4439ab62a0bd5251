"""The API contract: every endpoint is documented in /api/openapi.json and declares who may call it."""
import re

import pytest

ROLES = {"ops", "contractor", "reviewer", "public"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}
# flask-smorest's own endpoints (the document and its viewer) and static files.
EXEMPT_BLUEPRINTS = {"api-docs"}


def is_exempt(rule):
    return (
        rule.endpoint == "static"
        or rule.endpoint.endswith(".static")
        or rule.endpoint.split(".")[0] in EXEMPT_BLUEPRINTS
        or rule.rule == "/api/openapi.json"
        or rule.rule.startswith("/api/docs")
    )


def api_rules(app):
    return [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/") and not is_exempt(r)]


def openapi_path(rule):
    """Flask's ``/api/trucks/<int:truck_id>`` as OpenAPI's ``/api/trucks/{truck_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)


def methods(rule):
    return sorted(rule.methods - IGNORED_METHODS)


def view_handlers(app, rule):
    """(method, function) for each method of a rule: the MethodView's methods, or the view itself."""
    view = app.view_functions[rule.endpoint]
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        return [(m, view) for m in methods(rule)]
    return [(m, getattr(view_class, m.lower())) for m in methods(rule)]


def example_url(rule):
    """The rule with every path argument filled in."""
    return re.sub(r"<(?:(int|float|uuid)(?:\([^)]*\))?:)?[^<>]+>", lambda m: {"int": "1", "float": "1.0", "uuid": "00000000-0000-0000-0000-000000000000"}.get(m.group(1), "x"), rule.rule)


@pytest.fixture(scope="module")
def spec(app):
    resp = app.test_client().get("/api/openapi.json")
    assert resp.status_code == 200
    return resp.json


def test_openapi_document_is_public_json(anon):
    resp = anon.get("/api/openapi.json")
    assert resp.status_code == 200
    assert resp.json["openapi"].startswith("3.")


def test_every_api_route_and_method_is_in_the_openapi_document(app, spec):
    missing = []
    for rule in api_rules(app):
        item = spec["paths"].get(openapi_path(rule), {})
        missing += [f"{m} {rule.rule}" for m in methods(rule) if m.lower() not in item]
    assert missing == [], "undocumented API endpoints: " + ", ".join(missing)


def test_every_documented_operation_has_a_summary(spec):
    """The first docstring line of each API method becomes its summary."""
    verbs = {"get", "post", "put", "patch", "delete"}
    unnamed = [f"{verb.upper()} {path}" for path, item in spec["paths"].items() for verb, op in item.items() if verb in verbs and not op.get("summary")]
    assert unnamed == [], "operations without a docstring: " + ", ".join(unnamed)


def test_every_endpoint_declares_who_may_call_it(app):
    undeclared, unknown = [], []
    for rule in app.url_map.iter_rules():
        if is_exempt(rule):
            continue
        for method, handler in view_handlers(app, rule):
            roles = getattr(handler, "access_roles", None)
            if not roles:
                undeclared.append(f"{method} {rule.rule} ({rule.endpoint})")
            elif not set(roles) <= ROLES:
                unknown.append(f"{method} {rule.rule}: {roles}")
    assert undeclared == [], "endpoints without require(...) or public: " + ", ".join(undeclared)
    assert unknown == []


def test_the_api_covers_the_foundation_resources(spec):
    for path in ("/api/me", "/api/users", "/api/tokens", "/api/tokens/{token_id}"):
        assert path in spec["paths"]


def test_anonymous_callers_get_401_on_every_protected_api_endpoint(app, anon):
    wrong = []
    for rule in api_rules(app):
        for method, handler in view_handlers(app, rule):
            if "public" in getattr(handler, "access_roles", ("public",)):
                continue
            resp = anon.open(example_url(rule), method=method, headers={"Accept": "application/json"})
            if resp.status_code != 401 or resp.json.get("code") != 401:
                wrong.append(f"{method} {rule.rule} -> {resp.status_code}")
    assert wrong == [], "anonymous calls not refused with 401: " + ", ".join(wrong)


@pytest.mark.parametrize("role", ["contractor", "reviewer"])
def test_roles_not_allowed_get_403_on_every_api_endpoint(app, request, role):
    client = request.getfixturevalue(role)
    wrong = []
    for rule in api_rules(app):
        for method, handler in view_handlers(app, rule):
            roles = getattr(handler, "access_roles", ("public",))
            if "public" in roles or role in roles:
                continue
            resp = client.open(method, example_url(rule))
            if resp.status_code != 403:
                wrong.append(f"{method} {rule.rule} -> {resp.status_code}")
    assert wrong == [], f"{role} not refused with 403: " + ", ".join(wrong)


def test_anonymous_visitors_are_sent_to_login_from_every_protected_page(app, anon):
    wrong = []
    for rule in app.url_map.iter_rules():
        if is_exempt(rule) or rule.rule.startswith("/api/") or "GET" not in rule.methods:
            continue
        handler = dict(view_handlers(app, rule))["GET"]
        if "public" in getattr(handler, "access_roles", ("public",)):
            continue
        resp = anon.get(example_url(rule), headers={"Accept": "text/html"})
        if resp.status_code != 302 or "/login" not in resp.headers.get("Location", ""):
            wrong.append(f"GET {rule.rule} -> {resp.status_code}")
    assert wrong == [], "pages open to anonymous visitors: " + ", ".join(wrong)


def leaf_errors(error):
    """The innermost reasons of a jsonschema error (oneOf/anyOf hide them in ``context``)."""
    if not error.context:
        return [error]
    leaves = [leaf for sub in error.context for leaf in leaf_errors(sub)]
    return [e for e in leaves if "'$ref' is a required property" not in e.message] or leaves


def test_openapi_document_is_valid(spec):
    validator = pytest.importorskip("openapi_spec_validator")
    problems = sorted(
        {f"{'/'.join(map(str, err.absolute_path))}: {leaf.message[:160]}" for err in validator.OpenAPIV30SpecValidator(spec).iter_errors() for leaf in leaf_errors(err)}
    )
    assert problems == [], "invalid OpenAPI document:\n" + "\n".join(problems)


def test_schema_names_in_the_document_are_unique(tmp_path):
    """Two schemas with one name get renamed silently (Policy1...); give each a distinct name."""
    import warnings

    from insurer_dms import create_app

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "OBJECTS_DIR": str(tmp_path)})
        app.test_client().get("/api/openapi.json")
    clashes = sorted({str(w.message).split(".")[0] for w in caught if "Multiple schemas resolved" in str(w.message)})
    assert clashes == []
