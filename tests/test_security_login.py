"""Logins: failed attempts limited per account and per address (429 with Retry-After), and no account enumeration."""
import pytest
from sqlalchemy import update

from insurer_dms.auth import service
from insurer_dms.auth.models import User
from insurer_dms.auth.service import create_user
from insurer_dms.extensions import db, limiter
from tests.conftest import IsolatedClient
from tests.test_auth import csrf_token_from

EMAIL, PASSWORD = "tech@limits.demo.cn", "limits-password"


@pytest.fixture(autouse=True)
def fresh_login_limits():
    limiter.reset()  # the limiter's memory is the process's: start each test with no failed logins counted


@pytest.fixture
def user(app):
    with app.app_context():
        create_user(EMAIL, "contractor", PASSWORD, "Alpha Installations")
    return EMAIL


class Browser:
    """A test client at one client address, logging in through the form."""

    def __init__(self, app, address="127.0.0.1", language="en"):
        self.client = app.test_client()
        self.client.environ_base.update(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE=language)
        self.token = csrf_token_from(self.client.get("/login").get_data(as_text=True))

    def log_in(self, email, password, **kwargs):
        return self.client.post("/login", data={"email": email, "password": password, "csrf_token": self.token}, **kwargs)


@pytest.fixture
def hash_checks(monkeypatch):
    """Every password hash the login checks, in order."""
    checked = []
    real = service.check_password_hash

    def counting(pwhash, password):
        checked.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(service, "check_password_hash", counting)
    return checked


# --- per account, per address --------------------------------------------------------------------

def test_the_eleventh_failed_login_of_an_account_within_a_minute_is_refused_with_retry_after(app, user):
    browser = Browser(app, "127.0.0.11")
    for _ in range(10):
        assert browser.log_in(user, "wrong-password").status_code == 401

    blocked = browser.log_in(user, "wrong-password")
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    page = blocked.get_data(as_text=True)
    assert "Too many failed logins. Try again in" in page and 'id="login-form"' in page

    # The right password waits too: the limit is checked before the password.
    assert browser.log_in(user, PASSWORD).status_code == 429
    assert browser.client.get("/api/me").status_code == 401


def test_the_account_limit_holds_from_another_address_but_another_account_is_not_blocked(app, user):
    attacker = Browser(app, "127.0.0.12")
    for _ in range(10):
        attacker.log_in(user, "wrong-password")
    assert Browser(app, "127.0.0.13").log_in(user, PASSWORD).status_code == 429  # the same account, elsewhere

    with app.app_context():
        create_user("tech2@limits.demo.cn", "contractor", "other-password", "Alpha Installations")
    colleague = Browser(app, "127.0.0.14")
    assert colleague.log_in("tech2@limits.demo.cn", "wrong-password").status_code == 401  # answered, not blocked
    assert colleague.log_in("tech2@limits.demo.cn", "other-password").status_code == 302


def test_an_address_trying_many_accounts_is_stopped_after_thirty_failures(app, user):
    sprayer = Browser(app, "127.0.0.15")
    for n in range(30):
        assert sprayer.log_in(f"guess{n}@limits.demo.cn", "password1").status_code == 401
    assert sprayer.log_in("guess30@limits.demo.cn", "password1").status_code == 429
    assert sprayer.log_in(user, PASSWORD).status_code == 429
    assert Browser(app, "127.0.0.16").log_in(user, PASSWORD).status_code == 302  # another address is not blocked


def test_successful_logins_do_not_count(app, user):
    """Staff behind one address log in all day: only failures spend the limits."""
    for _ in range(15):
        browser = Browser(app, "127.0.0.17")
        assert browser.log_in(user, PASSWORD).status_code == 302


def test_a_blocked_login_checks_no_password(app, user, hash_checks):
    browser = Browser(app, "127.0.0.18")
    for _ in range(10):
        browser.log_in(user, "wrong-password")
    assert len(hash_checks) == 10
    assert browser.log_in(user, PASSWORD).status_code == 429
    assert len(hash_checks) == 10


def test_the_limit_answers_json_clients_with_the_one_error_body(app, user):
    browser = Browser(app, "127.0.0.19")
    for _ in range(10):
        browser.log_in(user, "wrong-password")
    blocked = browser.log_in(user, "wrong-password", headers={"Accept": "application/json"})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    assert blocked.json["code"] == 429 and blocked.json["status"] == "Too Many Requests"
    assert "Too many failed logins" in blocked.json["message"]


def test_the_limit_is_explained_in_chinese_to_a_chinese_browser(app, user):
    browser = Browser(app, "127.0.0.20", language="zh-CN,zh;q=0.9")
    for _ in range(10):
        browser.log_in(user, "wrong-password")
    blocked = browser.log_in(user, "wrong-password")
    assert blocked.status_code == 429
    assert "登录失败次数过多" in blocked.get_data(as_text=True)


def test_the_limits_are_on_by_default_with_ten_per_account_and_thirty_per_address(monkeypatch):
    from insurer_dms import config

    for name in ("LOGIN_LIMIT_PER_ACCOUNT", "LOGIN_LIMIT_PER_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    settings = config.from_environment()
    assert (settings["LOGIN_LIMIT_PER_ACCOUNT"], settings["LOGIN_LIMIT_PER_ADDRESS"]) == ("10/minute", "30/minute")
    assert settings.get("RATELIMIT_ENABLED", True) is True


def test_the_limits_are_settings(app, user, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_ACCOUNT", "2/minute")
    browser = Browser(app, "127.0.0.21")
    assert [browser.log_in(user, "wrong-password").status_code for _ in range(3)] == [401, 401, 429]


@pytest.fixture
def app_with_redis(app):
    """Build the app as deployed with REDIS_URL; afterwards the session's app gets the limiter back."""
    from insurer_dms import create_app

    made = []

    def build(redis_url):
        keep = ("TESTING", "SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "S3_BUCKET", "OBJECTS_DIR", "PASSWORD_HASH_METHOD")
        made.append(create_app({**{k: app.config[k] for k in keep}, "REDIS_URL": redis_url}))
        made[-1].test_client_class = IsolatedClient
        return made[-1]

    yield build
    for other in made:
        with other.app_context():
            db.engine.dispose()
    limiter.init_app(app)  # one limiter per process: give the session's app its memory storage back


@pytest.fixture
def redis_app(app_with_redis, rq_worker):
    """The login limits count in Redis (the test database of rq_worker)."""
    return app_with_redis(rq_worker.redis_url)


def test_with_redis_configured_the_failed_logins_are_counted_in_redis(redis_app, rq_worker, user):
    assert redis_app.config["RATELIMIT_STORAGE_URI"] == rq_worker.redis_url
    browser = Browser(redis_app, "127.0.0.22")
    for _ in range(10):
        assert browser.log_in(user, "wrong-password").status_code == 401
    keys = [k.decode() for k in rq_worker.connection.keys("*")]
    assert any("account:" in k for k in keys) and any("address:127.0.0.22" in k for k in keys)
    assert not any(user in k for k in keys)  # the e-mail is keyed by its digest

    limiter.init_app(redis_app)  # a fresh storage, as another worker process has: the count lives in Redis
    blocked = browser.log_in(user, PASSWORD)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1


def test_with_redis_down_logins_are_still_answered_and_limited_in_memory(app_with_redis, user):
    down = app_with_redis("redis://127.0.0.1:1/0")
    browser = Browser(down, "127.0.0.25")
    assert [browser.log_in(user, "wrong-password").status_code for _ in range(10)] == [401] * 10
    assert browser.log_in(user, "wrong-password").status_code == 429
    assert Browser(down, "127.0.0.26").log_in("other@limits.demo.cn", "wrong-password").status_code == 401


# --- the same hash work whether the account exists or not ---------------------------------------

def test_an_unknown_email_costs_one_check_of_a_dummy_hash_made_like_the_real_ones(app, user, hash_checks):
    with app.app_context():
        assert service.authenticate("nobody@limits.demo.cn", PASSWORD) is None
        assert service.authenticate(user, "wrong-password") is None
        real_hash = db.session.scalar(db.select(User.password_hash).where(User.email == user))
    unknown, known = hash_checks
    method = app.config["PASSWORD_HASH_METHOD"]
    assert unknown.split("$")[0] == known.split("$")[0] == real_hash.split("$")[0] == method
    assert unknown != real_hash


def test_an_inactive_user_costs_the_same_check_and_is_refused(app, user, hash_checks):
    with app.app_context():
        db.session.execute(update(User).where(User.email == user).values(active=False))
        db.session.commit()
        assert service.authenticate(user, PASSWORD) is None
    assert len(hash_checks) == 1


def test_the_login_page_answers_an_unknown_email_as_a_wrong_password(app, user, hash_checks):
    unknown = Browser(app, "127.0.0.23").log_in("nobody@limits.demo.cn", "wrong-password")
    wrong = Browser(app, "127.0.0.24").log_in(user, "wrong-password")
    assert unknown.status_code == wrong.status_code == 401
    assert "Wrong email or password." in unknown.get_data(as_text=True)
    assert "Wrong email or password." in wrong.get_data(as_text=True)
    assert len(hash_checks) == 2
