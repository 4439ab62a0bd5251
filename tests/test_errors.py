"""One error body everywhere: {code, status, message, errors: {field: [..]}}; never a stack trace."""
import pytest

from insurer_dms import create_app


def assert_error_body(resp, code):
    assert resp.status_code == code
    assert resp.mimetype == "application/json"
    body = resp.json
    assert body["code"] == code
    assert isinstance(body["status"], str) and body["status"]
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"code", "status", "message", "errors", "rows"}
    return body


def test_anonymous_api_call_is_401(anon):
    body = assert_error_body(anon.get("/api/users"), 401)
    assert body["status"] == "Unauthorized"


def test_wrong_role_is_403(reviewer):
    body = assert_error_body(reviewer.get("/api/users"), 403)
    assert body["status"] == "Forbidden"
    assert "ops" in body["message"]


def test_unknown_api_path_is_404(ops):
    body = assert_error_body(ops.get("/api/no-such-resource"), 404)
    assert body["status"] == "Not Found"


def test_missing_record_is_404_from_the_service(ops):
    body = assert_error_body(ops.delete("/api/tokens/999999"), 404)
    assert body["message"] == "No such token."


def test_wrong_method_is_405(ops):
    body = assert_error_body(ops.put("/api/me", json={}), 405)
    assert body["status"] == "Method Not Allowed"


def test_invalid_body_is_422_with_flat_field_names(ops):
    body = assert_error_body(ops.post("/api/users", json={"email": "not-an-email", "role": "boss", "extra": 1}), 422)
    assert set(body["errors"]) == {"email", "role", "extra"}
    assert all(isinstance(m, list) and m and all(isinstance(x, str) for x in m) for m in body["errors"].values())


def test_invalid_query_argument_is_422_with_the_argument_named(ops):
    body = assert_error_body(ops.get("/api/users?page=0&page_size=abc"), 422)
    assert set(body["errors"]) == {"page", "page_size"}


def test_body_that_is_not_json_is_400_not_500(ops):
    resp = ops.post("/api/users", data="{not json", headers={"Content-Type": "application/json"})
    body = assert_error_body(resp, 400)
    assert body["errors"] == {"_schema": ["Invalid JSON body."]}


def test_domain_error_from_a_service_has_the_same_shape(ops):
    body = assert_error_body(ops.post("/api/users", json={"email": "tech@alpha.example.cn", "role": "contractor"}), 422)
    assert list(body["errors"]) == ["company"]


def test_conflict_is_409_with_the_field(ops):
    ops.post("/api/users", json={"email": "dup@example.cn", "role": "reviewer"})
    body = assert_error_body(ops.post("/api/users", json={"email": "dup@example.cn", "role": "reviewer"}), 409)
    assert list(body["errors"]) == ["email"]


def test_anonymous_page_visit_goes_to_the_login_page(anon):
    resp = anon.get("/home")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]


@pytest.fixture
def fragile_app(tmp_path):
    """A separate app with a route that fails unexpectedly (this test's only)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", "OBJECTS_DIR": str(tmp_path)})

    @app.route("/api/explode")
    def explode():
        raise RuntimeError("secret internal detail")

    @app.route("/explode")
    def explode_page():
        raise RuntimeError("secret internal detail")

    return app


def test_unexpected_exception_is_a_json_500_without_a_stack_trace(fragile_app):
    resp = fragile_app.test_client().get("/api/explode")
    body = assert_error_body(resp, 500)
    assert body["status"] == "Internal Server Error"
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text and "secret internal detail" not in text and "RuntimeError" not in text


def test_unexpected_exception_on_a_page_shows_no_stack_trace(fragile_app):
    resp = fragile_app.test_client().get("/explode", headers={"Accept": "text/html"})
    assert resp.status_code == 500
    text = resp.get_data(as_text=True)
    assert "Traceback" not in text and "secret internal detail" not in text
