"""Sessions: CSRF for every request the session cookie authenticates, and sessions that end on the server."""
import re

import pytest
from sqlalchemy import func, select

from insurer_dms.auth.models import ApiToken, UserSession
from insurer_dms.auth.service import (
    create_token,
    create_user,
    hash_token,
    user_by_email,
)
from insurer_dms.extensions import db, limiter
from tests.test_auth import csrf_token_from, everything_stored

EMAIL, PASSWORD = "ops@sessions.demo.cn", "session-password"
JUNK_BEARER = {"Authorization": "Bearer idms_this-is-not-a-token"}


@pytest.fixture(autouse=True)
def fresh_login_limits():
    limiter.reset()  # the limiter's memory is the process's: start each test with no failed logins counted


@pytest.fixture
def user(app):
    with app.app_context():
        create_user(EMAIL, "ops", PASSWORD)
    return EMAIL


def logged_in(app, email=EMAIL, password=PASSWORD):
    """A browser-like client logged in through the login form; returns (client, its CSRF token).

    ``client.session_cookie`` is the session cookie the login answered with, as a thief would copy it.
    """
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    resp = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    client.session_cookie = next(c.split(";")[0].split("=", 1)[1] for c in resp.headers.getlist("Set-Cookie")
                                 if c.startswith("session="))
    return client, token


def tokens_of(app, email):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user_by_email(email).id))


class CopiedCookie:
    """A new client sending only a copy of a saved session cookie (as a thief would), whatever host the app serves."""

    def __init__(self, app, cookie):
        self.client, self.cookie = app.test_client(use_cookies=False), cookie

    def open(self, method, url, **kwargs):
        headers = {"Cookie": f"session={self.cookie}", **kwargs.pop("headers", {})}
        return self.client.open(url, method=method, headers=headers, **kwargs)

    def get(self, url, **kwargs):
        return self.open("GET", url, **kwargs)

    def post(self, url, **kwargs):
        return self.open("POST", url, **kwargs)


def replay(app, cookie):
    return CopiedCookie(app, cookie)


# --- CSRF: an Authorization header proves nothing until its token is valid -----------------------

def test_a_junk_bearer_header_does_not_spare_a_session_api_write_its_csrf_check(app, user):
    client, _ = logged_in(app)
    refused = client.post("/api/tokens", json={"name": "forged"}, headers=JUNK_BEARER)
    assert refused.status_code == 400
    assert refused.json["code"] == 400 and refused.json["status"] == "Bad Request" and "CSRF" in refused.json["message"]
    assert tokens_of(app, user) == 0


def test_a_junk_bearer_header_does_not_spare_a_page_form_post_its_csrf_check(app, user):
    client, _ = logged_in(app)
    refused = client.post("/logout", headers=JUNK_BEARER)
    assert refused.status_code == 400
    assert "CSRF" in refused.get_data(as_text=True)
    assert client.get("/api/me").status_code == 200  # still logged in: the forged logout did nothing


def test_the_session_posts_with_its_csrf_token_even_beside_a_junk_bearer(app, user):
    client, token = logged_in(app)
    made = client.post("/api/tokens", json={"name": "mine"}, headers={**JUNK_BEARER, "X-CSRFToken": token})
    assert made.status_code == 201
    assert client.post("/logout", data={"csrf_token": token}, headers=JUNK_BEARER).status_code == 302


def test_a_valid_token_beside_the_session_cookie_still_needs_the_csrf_token(app, user):
    """The cookie authenticates the request (Flask-Login asks the session first), so CSRF applies."""
    client, _ = logged_in(app)
    with app.app_context():
        _, bearer = create_token(user_by_email(user), "script")
    refused = client.post("/api/tokens", json={"name": "forged"}, headers={"Authorization": f"Bearer {bearer}"})
    assert refused.status_code == 400 and "CSRF" in refused.json["message"]
    assert tokens_of(app, user) == 1


def test_a_valid_token_alone_needs_no_csrf_token(app, user):
    with app.app_context():
        _, bearer = create_token(user_by_email(user), "script")
    resp = app.test_client().post("/api/tokens", json={"name": "from a script"}, headers={"Authorization": f"Bearer {bearer}"})
    assert resp.status_code == 201


def test_a_junk_bearer_without_a_session_is_simply_unauthenticated(app, user):
    assert app.test_client().post("/api/tokens", json={}, headers=JUNK_BEARER).status_code == 401


# --- sessions end on the server ------------------------------------------------------------------

def test_a_session_cookie_saved_before_logout_no_longer_works_after_it(app, user):
    client, token = logged_in(app)
    saved = client.session_cookie
    assert replay(app, saved).get("/api/me").json["email"] == user  # the copy works while the session lives

    assert client.post("/logout", data={"csrf_token": token}).status_code == 302

    thief = replay(app, saved)
    assert thief.get("/api/me").status_code == 401
    page = thief.get("/home")
    assert page.status_code == 302 and "/login" in page.headers["Location"]
    assert thief.post("/api/tokens", json={}, headers={"X-CSRFToken": token}).status_code == 401
    assert tokens_of(app, user) == 0


def test_logging_out_ends_that_session_only(app, user):
    phone, phone_token = logged_in(app)
    laptop, _ = logged_in(app)
    phone.post("/logout", data={"csrf_token": phone_token})
    assert phone.get("/api/me").status_code == 401
    assert laptop.get("/api/me").status_code == 200


def test_a_password_change_ends_every_session_of_that_user_and_no_one_elses(app, user):
    phone, _ = logged_in(app)
    laptop, _ = logged_in(app)
    with app.app_context():
        create_user("ops2@sessions.demo.cn", "ops", "other-password")
    colleague, _ = logged_in(app, "ops2@sessions.demo.cn", "other-password")

    result = app.test_cli_runner().invoke(args=["users", "set-password", user, "--password", "a-new-password"])
    assert result.exit_code == 0, result.output
    assert "a-new-password" not in result.output

    assert phone.get("/api/me").status_code == 401
    assert laptop.get("/api/me").status_code == 401
    assert colleague.get("/api/me").status_code == 200
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"email": user, "password": PASSWORD, "csrf_token": token}).status_code == 401
    logged_in(app, user, "a-new-password")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == 2  # the colleague's and the new one


def test_the_password_change_command_generates_a_password_and_refuses_short_ones(app, user):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "set-password", user])
    assert result.exit_code == 0
    generated = re.search(r"password: (\S{8,})", result.output).group(1)
    logged_in(app, user, generated)

    result = runner.invoke(args=["users", "set-password", user, "--password", "short"])
    assert result.exit_code != 0 and "8 characters" in result.output
    result = runner.invoke(args=["users", "set-password", "nobody@sessions.demo.cn"])
    assert result.exit_code != 0 and "nobody@sessions.demo.cn" in result.output


def test_the_session_secret_is_stored_only_as_its_sha256(app, user):
    client, _ = logged_in(app)
    cookie = app.session_interface.get_signing_serializer(app).loads(client.session_cookie)
    secret = cookie["login_session"]
    assert len(secret) >= 40
    assert secret not in everything_stored(app)
    with app.app_context():
        row = db.session.scalar(select(UserSession))
        assert row.secret_hash == hash_token(secret) and row.user.email == user


def test_a_signed_cookie_naming_a_user_without_a_live_session_is_refused(app, user):
    """Even with the SECRET_KEY, a forged cookie needs a session secret the server knows (and cookies from before
    sessions were recorded, which name only the user, no longer log anyone in)."""
    with app.app_context():
        user_id = user_by_email(user).id
    serializer = app.session_interface.get_signing_serializer(app)
    forgeries = ({"_user_id": str(user_id), "_fresh": True}, {"_user_id": str(user_id), "login_session": "guessed"},
                 {"_user_id": str(user_id), "login_session": 12345}, {"_user_id": "x", "login_session": "guessed"})
    for forged in forgeries:
        assert replay(app, serializer.dumps(forged)).get("/api/me").status_code == 401


def test_a_session_of_one_user_cannot_be_grafted_onto_another(app, user):
    client, _ = logged_in(app)
    with app.app_context():
        other = create_user("ops3@sessions.demo.cn", "ops", "third-password")[0].id
    serializer = app.session_interface.get_signing_serializer(app)
    stolen = serializer.loads(client.session_cookie)
    assert replay(app, serializer.dumps({**stolen, "_user_id": str(other)})).get("/api/me").status_code == 401
