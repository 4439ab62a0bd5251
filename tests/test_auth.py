"""Users, roles and API tokens: who may do what, how secrets are kept, and the audit trail."""
import hashlib
import re

import pytest
from sqlalchemy import select, text

from insurer_dms.activity import Activity
from insurer_dms.auth.models import ApiToken, User
from insurer_dms.extensions import db


def csrf_token_from(html):
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)


def everything_stored(app):
    """Every value in every table, as one string (to prove a secret is stored nowhere)."""
    with app.app_context():
        with db.engine.connect() as conn:
            return "\n".join(
                repr(tuple(row)) for table in db.metadata.sorted_tables for row in conn.execute(text(f'SELECT * FROM "{table.name}"'))
            )


# --- tokens ------------------------------------------------------------------------------------

def test_token_is_stored_only_as_its_sha256(app, ops):
    resp = ops.post("/api/tokens", json={"name": "laptop"})
    assert resp.status_code == 201
    token = resp.json["token"]
    assert token.startswith("idms_") and len(token) > 30

    stored = everything_stored(app)
    assert token not in stored
    assert token[10:] not in stored  # not even the secret part beyond the shown prefix
    with app.app_context():
        row = db.session.get(ApiToken, resp.json["id"])
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert row.prefix == token[:10]


def test_new_token_works_as_bearer_and_lists_without_secrets(app, ops):
    token = ops.post("/api/tokens", json={"name": "ci"}).json["token"]
    me = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["email"] == "ops@example.com"

    listed = ops.get("/api/tokens").json
    assert [t["name"] for t in listed] == ["test", "ci"]
    assert all(set(t) == {"id", "name", "prefix", "created_at", "last_used_at", "revoked_at"} for t in listed)


def test_revoked_token_is_refused_with_401(app, ops):
    created = ops.post("/api/tokens", json={"name": "old"}).json
    bearer = {"Authorization": f"Bearer {created['token']}"}
    client = app.test_client()
    assert client.get("/api/me", headers=bearer).status_code == 200

    revoked = ops.delete(f"/api/tokens/{created['id']}")
    assert revoked.status_code == 200 and revoked.json["revoked_at"]

    resp = client.get("/api/me", headers=bearer)
    assert resp.status_code == 401
    assert resp.json["code"] == 401


def test_unknown_token_is_401(anon):
    assert anon.get("/api/me", headers={"Authorization": "Bearer idms_not-a-real-token"}).status_code == 401


def test_a_user_cannot_revoke_someone_elses_token(ops, contractor):
    ops_token_id = ops.get("/api/tokens").json[0]["id"]
    assert contractor.delete(f"/api/tokens/{ops_token_id}").status_code == 404
    assert ops.get("/api/me").status_code == 200


def test_ops_may_revoke_anyones_token(ops, contractor):
    token_id = contractor.get("/api/tokens").json[0]["id"]
    assert ops.delete(f"/api/tokens/{token_id}").status_code == 200
    assert contractor.get("/api/me").status_code == 401


def test_every_role_manages_its_own_tokens(contractor, reviewer):
    for client in (contractor, reviewer):
        assert client.post("/api/tokens", json={}).status_code == 201
        assert len(client.get("/api/tokens").json) == 2


def test_tokens_need_credentials(anon):
    assert anon.get("/api/tokens").status_code == 401
    assert anon.post("/api/tokens", json={}).status_code == 401
    assert anon.delete("/api/tokens/1").status_code == 401


# --- users -------------------------------------------------------------------------------------

def test_ops_creates_a_contractor_user_with_a_hashed_password(app, ops):
    resp = ops.post("/api/users", json={"email": "Tech@Gamma.demo.cn", "role": "contractor", "company": "Gamma Installations", "password": "s3cret-pass"})
    assert resp.status_code == 201
    assert resp.json["email"] == "tech@gamma.demo.cn"
    assert resp.json["role"] == "contractor" and resp.json["company"] == "Gamma Installations"
    assert "password" not in resp.json and "password_hash" not in resp.json

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "tech@gamma.demo.cn"))
        assert user.password_hash != "s3cret-pass" and user.password_hash.startswith("pbkdf2:sha256")
    assert "s3cret-pass" not in everything_stored(app)


def test_new_user_can_log_in_with_the_password(app, ops):
    ops.post("/api/users", json={"email": "reviewer2@demo.nfra.cn", "role": "reviewer", "password": "review-pass-1"})
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    resp = client.post("/login", data={"email": "reviewer2@demo.nfra.cn", "password": "review-pass-1", "csrf_token": csrf_token_from(page)})
    assert resp.status_code == 302
    assert client.get("/api/me").json["role"] == "reviewer"


def test_contractor_user_needs_a_company(ops):
    resp = ops.post("/api/users", json={"email": "tech@nowhere.cn", "role": "contractor"})
    assert resp.status_code == 422
    assert list(resp.json["errors"]) == ["company"]


def test_ops_user_cannot_belong_to_a_company(ops):
    resp = ops.post("/api/users", json={"email": "ops2@demo.insurer.cn", "role": "ops", "company": "Alpha"})
    assert resp.status_code == 422
    assert list(resp.json["errors"]) == ["company"]


def test_duplicate_email_is_409(ops):
    assert ops.post("/api/users", json={"email": "dup@demo.insurer.cn", "role": "ops"}).status_code == 201
    resp = ops.post("/api/users", json={"email": "DUP@demo.insurer.cn", "role": "ops"})
    assert resp.status_code == 409
    assert "email" in resp.json["errors"]


def test_short_password_and_bad_role_are_422(ops):
    resp = ops.post("/api/users", json={"email": "x@demo.cn", "role": "admin", "password": "short"})
    assert resp.status_code == 422
    assert set(resp.json["errors"]) == {"role", "password"}


def test_ops_lists_users(ops, contractor):
    body = ops.get("/api/users").json
    assert body["total"] == 2
    assert {u["email"] for u in body["items"]} == {"ops@example.com", "tech@alpha.example.com"}


@pytest.mark.parametrize("role", ["contractor", "reviewer"])
def test_only_ops_may_see_or_create_users(request, role):
    client = request.getfixturevalue(role)
    assert client.get("/api/users").status_code == 403
    resp = client.post("/api/users", json={"email": "new@demo.cn", "role": "ops"})
    assert resp.status_code == 403
    assert resp.json["code"] == 403


def test_anonymous_cannot_see_or_create_users(anon):
    assert anon.get("/api/users").status_code == 401
    assert anon.post("/api/users", json={"email": "new@demo.cn", "role": "ops"}).status_code == 401
    assert anon.get("/api/me").status_code == 401


# --- audit trail -------------------------------------------------------------------------------

def test_user_and_token_creation_are_in_the_activity_log(app, ops):
    user_id = ops.post("/api/users", json={"email": "audited@demo.cn", "role": "reviewer"}).json["id"]
    token_id = ops.post("/api/tokens", json={"name": "audited"}).json["id"]
    ops.delete(f"/api/tokens/{token_id}")
    with app.app_context():
        entries = db.session.scalars(select(Activity).where(Activity.actor == "ops@example.com").order_by(Activity.id)).all()
        assert [(e.action, e.entity_type, e.entity_id) for e in entries] == [
            ("create", "user", str(user_id)),
            ("create", "api_token", str(token_id)),
            ("revoke", "api_token", str(token_id)),
        ]
        assert entries[0].after["role"] == "reviewer"
        assert entries[0].actor_id == ops.user
        assert "token_hash" not in (entries[1].after or {})


# --- CLI ---------------------------------------------------------------------------------------

def test_cli_creates_users_and_tokens(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "tech@alpha.demo.cn", "--role", "contractor", "--company", "Alpha", "--password", "demo-password"])
    assert result.exit_code == 0, result.output
    assert "tech@alpha.demo.cn" in result.output and "demo-password" not in result.output

    result = runner.invoke(args=["tokens", "create", "tech@alpha.demo.cn"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert re.fullmatch(r"idms_[A-Za-z0-9_-]+", token)  # only the token: scripts can capture it

    me = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json["email"] == "tech@alpha.demo.cn" and me.json["company"] == "Alpha"
    with app.app_context():
        actors = {e.actor for e in db.session.scalars(select(Activity))}
    assert actors == {"cli"}


def test_cli_generates_and_prints_a_password_when_none_given(app):
    result = app.test_cli_runner().invoke(args=["users", "create", "ops@demo.insurer.cn", "--role", "ops"])
    assert result.exit_code == 0
    assert re.search(r"password: \S{8,}", result.output)


def test_cli_refusals_are_clear(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "tech@x.cn", "--role", "contractor"])
    assert result.exit_code != 0 and "company" in result.output
    result = runner.invoke(args=["tokens", "create", "nobody@x.cn"])
    assert result.exit_code != 0 and "nobody@x.cn" in result.output


# --- sessions and CSRF -------------------------------------------------------------------------

@pytest.fixture
def web_user(app):
    from insurer_dms.auth.service import create_user

    with app.app_context():
        create_user("ops@web.demo.cn", "ops", "web-password")
    return "ops@web.demo.cn", "web-password"


def test_login_with_a_wrong_csrf_token_is_refused(app, web_user):
    client = app.test_client()
    client.get("/login")
    resp = client.post("/login", data={"email": web_user[0], "password": web_user[1], "csrf_token": "forged"})
    assert resp.status_code == 400
    assert client.get("/api/me").status_code == 401


def test_session_posts_need_the_csrf_token_but_bearer_posts_do_not(app, web_user, ops):
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"email": web_user[0], "password": web_user[1], "csrf_token": token}).status_code == 302

    refused = client.post("/api/tokens", json={"name": "from the browser"})
    assert refused.status_code == 400
    assert refused.json["code"] == 400 and "CSRF" in refused.json["message"]
    assert client.post("/api/tokens", json={"name": "from the browser"}, headers={"X-CSRFToken": token}).status_code == 201

    assert ops.post("/api/tokens", json={"name": "script"}).status_code == 201  # bearer: no CSRF needed


def test_logout_needs_csrf_too(app, web_user):
    client = app.test_client()
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"email": web_user[0], "password": web_user[1], "csrf_token": token})
    assert client.post("/logout").status_code == 400
    assert client.get("/api/me").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/api/me").status_code == 401
