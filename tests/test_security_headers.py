"""Security headers on every answer, pages that pass their CSP with no inline script, Swagger UI from our own files."""
import datetime as dt
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from insurer_dms.extensions import db
from insurer_dms.storage import make_storage
from tests.factories import csv_bytes, upload
from tests.test_statements_ingest import EN, lines, no_statement_objects  # noqa: F401  (autouse fixture)

PACKAGE = Path(__file__).resolve().parent.parent / "insurer_dms"
STORAGE = "insurer_dms.storage"


def directives(response):
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def assert_secured(response):
    csp = directives(response)
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


# --- every kind of answer -----------------------------------------------------------------------

def test_pages_carry_the_security_headers(anon, ops):
    assert_secured(anon.get("/login"))
    assert_secured(ops.get("/home"))


def test_api_answers_carry_them_too_errors_included(anon, ops):
    assert_secured(ops.get("/api/me"))
    assert_secured(anon.get("/api/me"))  # 401
    assert_secured(ops.get("/api/trucks/999999"))  # 404 from a view
    assert_secured(anon.get("/api/openapi.json"))


def test_not_found_pages_static_files_and_the_api_docs_carry_them(anon):
    missing = anon.get("/no-such-page")
    assert missing.status_code == 404
    assert_secured(missing)
    assert_secured(anon.get("/api/no-such-endpoint"))
    assert_secured(anon.get("/static/app.css"))
    assert_secured(anon.get("/api/docs"))


def test_hsts_only_while_the_session_cookie_is_secure(app, anon, monkeypatch):
    assert app.config["SESSION_COOKIE_SECURE"] is True  # the default
    assert anon.get("/login").headers["Strict-Transport-Security"] == "max-age=31536000"
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", False)
    assert "Strict-Transport-Security" not in anon.get("/login").headers


def test_the_browser_may_upload_photos_to_the_object_store_and_nowhere_else(app, anon, monkeypatch):
    assert directives(anon.get("/login"))["connect-src"] == ["'self'"]  # the local folder: uploads come to us
    s3 = make_storage({"S3_BUCKET": "idms-photos", "S3_ENDPOINT_URL": "http://127.0.0.1:9000", "S3_REGION": "us-east-1",
                       "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    monkeypatch.setitem(app.extensions, STORAGE, s3)
    assert directives(anon.get("/login"))["connect-src"] == ["'self'", "http://127.0.0.1:9000"]


# --- the session cookie --------------------------------------------------------------------------

def test_the_session_cookie_is_secure_httponly_and_lax_by_default(app, monkeypatch):
    from insurer_dms import config
    from insurer_dms.auth.service import create_user
    from tests.test_auth import csrf_token_from

    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    assert config.from_environment()["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "false")  # what scripts/serve sets for plain http
    assert config.from_environment()["SESSION_COOKIE_SECURE"] is False

    with app.app_context():
        create_user("ops@cookie.demo.cn", "ops", "cookie-password")
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"email": "ops@cookie.demo.cn", "password": "cookie-password", "csrf_token": token})
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "; Secure" in cookie and "; HttpOnly" in cookie and "SameSite=Lax" in cookie


# --- no inline script anywhere ------------------------------------------------------------------

def test_no_template_has_an_inline_script_or_event_handler():
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
    handler = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)
    offenders = []
    for path in sorted(PACKAGE.rglob("*.html")):
        source = path.read_text(encoding="utf-8")
        for pattern in (inline, handler, re.compile(r"javascript:", re.IGNORECASE)):
            offenders += [f"{path.relative_to(PACKAGE)}: {m.group(0)[:60]}" for m in pattern.finditer(source)]
    assert offenders == []


# --- Swagger UI from our own files ---------------------------------------------------------------

def test_the_api_docs_page_loads_swagger_ui_from_the_app_itself(anon):
    page = anon.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(s.startswith("/") for s in sources), sources
    for source in sources:
        assert anon.get(source).status_code == 200, source


# --- in Chromium: the pages pass their CSP and the moved scripts still work ----------------------
# (Playwright's wait_for_function evaluates a string, which the CSP refuses: the tests wait on locators instead.)

CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@pytest.fixture
def csp_watch(page):
    """Records every CSP violation the page reports (events and console messages) and every request it makes."""
    seen = {"console": [], "requests": []}
    page.add_init_script(CSP_PROBE)
    page.on("console", lambda message: seen["console"].append(message.text))
    page.on("request", lambda request: seen["requests"].append(request.url))

    def violations():
        events = page.evaluate("window.__cspViolations || []")
        return events + [m for m in seen["console"] if "Content Security Policy" in m]

    seen["violations"] = violations
    return seen


def test_the_watch_sees_a_violation_when_there_is_one(login_as, csp_watch):
    page = login_as("ops")
    page.reload()
    with page.expect_console_message(lambda message: "Content Security Policy" in message.text):
        page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1'; document.body.appendChild(s); }")
    assert page.evaluate("window.ran === undefined")
    assert any(v.startswith("script-src") for v in csp_watch["violations"]())


def set_status(app, table, row_id, **values):
    with app.app_context():
        assignments = ", ".join(f"{name} = :{name}" for name in values)
        db.session.execute(text(f"UPDATE {table} SET {assignments} WHERE id = :id"), {**values, "id": row_id})
        db.session.commit()


def test_the_statement_page_follows_its_reconciliation_within_the_csp(app, ops, login_as, live_server, csp_watch, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # the upload stays queued
    resp = upload(ops, "/statements/upload", csv_bytes(EN, lines(3)), "september.csv")
    statement_id = int(resp.headers["Location"].rsplit("/", 1)[1])

    page = login_as("ops")
    page.goto(live_server.url(f"/statements/{statement_id}"))
    assert page.locator("#statement-status").get_attribute("data-status") == "queued"
    set_status(app, "statement", statement_id, status="running", progress=40)
    expect(page.locator("#progress-text")).to_have_text("40%")
    assert page.locator("#statement-progress").evaluate("bar => bar.value") == 40

    set_status(app, "statement", statement_id, status="failed", error="stopped by the test")
    page.wait_for_selector("#statement-error")  # the run ended: the page reloaded itself
    assert page.locator("#statement-progress").count() == 0
    assert csp_watch["violations"]() == []


def test_the_audit_page_follows_its_run_within_the_csp(app, login_as, live_server, csp_watch):
    from insurer_dms.audits.models import AuditRun

    with app.app_context():
        run = AuditRun(scope="2025-07-01..2025-09-30", period_from=dt.date(2025, 7, 1), period_to=dt.date(2025, 9, 30),
                       tolerance="1.00", status="queued")
        db.session.add(run)
        db.session.commit()
        audit_id = run.id

    page = login_as("ops")
    page.goto(live_server.url(f"/audits/{audit_id}"))
    assert page.locator("#audit-waiting").is_visible()
    with page.expect_request(lambda request: request.url.endswith(f"/api/audits/{audit_id}")):
        pass  # the page polls the run
    set_status(app, "audit_run", audit_id, status="failed", error="stopped by the test")
    page.wait_for_selector("#audit-error")
    assert page.locator("#audit-waiting").count() == 0
    assert csp_watch["violations"]() == []


def test_swagger_ui_renders_the_operations_with_no_request_elsewhere_and_no_csp_violation(live_server, page, csp_watch):
    page.goto(live_server.url("/api/docs"))
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() > 50
    assert page.locator(".opblock-summary-path", has_text="/api/me").count() >= 1
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(live_server.url("/")))
    elsewhere = [url for url in csp_watch["requests"] if not url.startswith(origin + "/") and not url.startswith("data:")]
    assert elsewhere == []
    assert any(url.endswith("/api/openapi.json") for url in csp_watch["requests"])
    assert csp_watch["violations"]() == []


def test_a_logged_in_user_tries_a_write_from_swagger_ui(app, login_as, live_server, csp_watch):
    """The docs page hands Swagger UI the CSRF token, so "Try it out" works with the session cookie."""
    page = login_as("ops")
    page.goto(live_server.url("/api/docs"))
    operation = page.locator(".opblock-post", has=page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/tokens$")))
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator("textarea.body-param__text").fill('{"name": "from the docs"}')
    operation.locator(".execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status")).to_have_text("201")
    from insurer_dms.auth.models import ApiToken

    with app.app_context():
        assert [t.name for t in db.session.scalars(db.select(ApiToken))] == ["from the docs"]
    assert csp_watch["violations"]() == []
