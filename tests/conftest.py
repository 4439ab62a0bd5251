"""Fixtures: the app on PostgreSQL (CI) or SQLite (local fallback), role clients, S3 and RQ servers."""
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import close_all_sessions

from insurer_dms import create_app
from insurer_dms.extensions import db

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


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


class IsolatedClient(FlaskClient):
    """A test client whose every request gets a fresh app context, as in production.

    pytest-flask keeps one request context pushed for the whole test, and Flask reuses its app context
    for test-client requests: ``g`` (Flask-Login's cached user) and the db session would leak from one
    request to the next, so a second role client would act as the first one's user.
    """

    def open(self, *args, **kwargs):
        if self.preserve_context:  # ``with client:`` keeps the request's context for inspection
            return super().open(*args, **kwargs)
        with self.application.app_context():
            return super().open(*args, **kwargs)


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
    app.test_client_class = IsolatedClient
    with app.app_context():
        from tests.schema import build_schema

        build_schema()
        engine = db.engine
    # live_server forks this process: the child must not reuse the parent's pooled connections
    # (two processes on one socket corrupt each other's state, e.g. psycopg's prepared statements).
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
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
        page.wait_for_url(lambda url: "/login" not in url)  # /home, or the reviewer's portal it sends them to
        return page

    return _login


# --- RQ: a real Redis and a real worker process -------------------------------------------------

REDIS_TEST_DB = int(os.environ.get("TEST_REDIS_DB", 15))  # the tests flush this database; never db 0


def _redis_url():
    """REDIS_URL (forced onto db 15), else the local default if it answers, else None."""
    from urllib.parse import urlsplit, urlunsplit

    url = os.environ.get("REDIS_URL")
    if not url:
        if not _port_open("127.0.0.1", 6379):
            return None
        url = "redis://127.0.0.1:6379"
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{REDIS_TEST_DB}", parts.query, ""))


class RQWorker:
    """Enqueue through the app with Redis configured, then run ``flask worker --burst`` as a process."""

    def __init__(self, app, redis_url, connection):
        self.app, self.redis_url, self.connection = app, redis_url, connection

    @contextlib.contextmanager
    def configured(self):
        """The app with REDIS_URL set (the test app normally runs jobs inline)."""
        old = self.app.config["REDIS_URL"]
        self.app.config["REDIS_URL"] = self.redis_url
        try:
            yield self.app
        finally:
            self.app.config["REDIS_URL"] = old

    def enqueue(self, func_path, *args, **kwargs):
        """Put a job on the test queue via ``insurer_dms.queue.enqueue``; returns the RQ job."""
        from insurer_dms.queue import enqueue

        with self.configured(), self.app.app_context():
            return enqueue(func_path, *args, **kwargs)

    def environment(self):
        env = {k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "S3_BUCKET", "S3_ENDPOINT_URL")}
        env.update(
            DATABASE_URL=DATABASE_URL,
            REDIS_URL=self.redis_url,
            RQ_QUEUE=self.app.config["RQ_QUEUE"],
            OBJECTS_DIR=self.app.config["OBJECTS_DIR"],
            SECRET_KEY=self.app.config["SECRET_KEY"],
            PASSWORD_HASH_METHOD=self.app.config["PASSWORD_HASH_METHOD"],
        )
        return env

    def run(self, timeout=120):
        """Run a real worker process until the queue is empty; fail the test if it fails."""
        close_all_sessions()  # SQLite: release our locks so the worker can write
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
            cwd=PROJECT_ROOT,
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 0, f"worker failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        return result


@pytest.fixture
def rq_worker(app):
    """A flushed Redis test database and a way to run real RQ worker processes against it."""
    url = _redis_url()
    if url is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs Redis: set REDIS_URL or start redis-server on 127.0.0.1:6379")
        pytest.skip("no Redis answers (set REDIS_URL or start redis-server on 127.0.0.1:6379)")
    from redis import Redis

    connection = Redis.from_url(url)
    connection.flushdb()
    yield RQWorker(app, url, connection)
    connection.flushdb()
    connection.close()
