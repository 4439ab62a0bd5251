def test_health_is_public(anon):
    assert anon.get("/healthz").json == {"status": "ok"}


def test_me_needs_credentials(anon):
    resp = anon.get("/api/me")
    assert resp.status_code == 401
    assert resp.json["code"] == 401


def test_me_with_token(ops):
    resp = ops.get("/api/me")
    assert resp.status_code == 200
    assert resp.json["role"] == "ops"


def test_reviewer_cannot_list_users(reviewer):
    assert reviewer.get("/api/users").status_code == 403
