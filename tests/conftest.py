"""Fixtures: the app on PostgreSQL (CI) or SQLite (local fallback), role clients, S3 and RQ servers."""
import os
import socket
import tempfile

import pytest
from sqlalchemy import text
from sqlalchemy.orm import close_all_sessions

from insurer_dms import create_app
from insurer_dms.extensions import db

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _database_url():
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return url.replace("postgresql://", "postgresql+psycopg://", 1) if url.startswith("postgresql://") else url
    if os.environ.get("CI"):
        return PG_DEFAULT  # CI must run on PostgreSQL; fail loudly if it is down
    if _port_open("127.0.0.1", 5432):
        return PG_DEFAULT
    return "sqlite:///" + os.path.join(tempfile.mkdtemp(prefix="idms-test-"), "test.sqlite3")


DATABASE_URL = _database_url()


def pytest_report_header(config):
    return [f"insurer_dms database: {DATABASE_URL.split('@')[-1] if '@' in DATABASE_URL else DATABASE_URL}",
            f"insurer_dms dialect: {DATABASE_URL.split(':')[0]}"]


@pytest.fixture(scope="session")
def objects_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("objects")


@pytest.fixture(scope="session")
def app(objects_dir):
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": DATABASE_URL,
            "SECRET_KEY": "test-secret",
            "REDIS_URL": None,
            "S3_BUCKET": None,
            "OBJECTS_DIR": str(objects_dir),
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        from tests.schema import build_schema

        build_schema()
    yield app


@pytest.fixture(autouse=True)
def _clean_database(app):
    """Every test starts from empty tables."""
    yield
    close_all_sessions()  # pytest-flask keeps an app context (and its session) open for the whole test
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            with db.engine.begin() as conn:
                for t in tables:
                    conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
def ctx(app):
    """An app context for tests that call services directly."""
    with app.app_context():
        yield
        db.session.remove()


class RoleClient:
    """A test client that sends a user's bearer token with every request."""

    def __init__(self, app, user, token):
        self.app, self.user, self.token = app, user, token
        self.client = app.test_client()

    def open(self, method, url, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, url, **kw):
        return self.open("GET", url, **kw)

    def post(self, url, **kw):
        return self.open("POST", url, **kw)

    def put(self, url, **kw):
        return self.open("PUT", url, **kw)

    def patch(self, url, **kw):
        return self.open("PATCH", url, **kw)

    def delete(self, url, **kw):
        return self.open("DELETE", url, **kw)


def make_role_client(app, email, role, company=None):
    from insurer_dms.auth.service import create_token, create_user

    with app.app_context():
        user, _ = create_user(email, role, "password123", company)
        _, token = create_token(user, "test")
        user_id = user.id
    client = RoleClient(app, user_id, token)
    return client


@pytest.fixture
def ops(app):
    return make_role_client(app, "ops@example.com", "ops")


@pytest.fixture
def contractor(app):
    return make_role_client(app, "tech@alpha.example.com", "contractor", "Alpha Installations")


@pytest.fixture
def other_contractor(app):
    return make_role_client(app, "tech@beta.example.com", "contractor", "Beta Installations")


@pytest.fixture
def reviewer(app):
    return make_role_client(app, "reviewer@nfra.example.com", "reviewer")


@pytest.fixture
def anon(app):
    return app.test_client()


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto) on loopback; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    """Real headless Chromium from Debian's package, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def login_as(app, live_server, page):
    """Create a user with ROLE and log in through the login page; returns the page."""

    def _login(role="ops", email=None, company=None):
        from insurer_dms.auth.service import create_user

        email = email or f"{role}@browser.example.com"
        with app.app_context():
            create_user(email, role, "password123", company or ("Alpha Installations" if role == "contractor" else None))
        page.goto(live_server.url("/login"))
        page.fill("input[name=email]", email)
        page.fill("input[name=password]", "password123")
        page.click("#login-submit")
        page.wait_for_url("**/home")
        return page

    return _login
